#!/usr/bin/env python3
"""Writes Sources/OZGService/openapi.json, the OpenAPI 3.1 description of `ozgtrack serve`.

The routes are written by hand in Sources/OZGService (no generator: hummingbird's build is already the largest
part of a clean build); this file is the contract they follow, checked by scripts/openapi-check.sh with
schemathesis. Run it after changing the API: python3 scripts/openapi-spec.py
"""
import json, pathlib

def ref(name): return {"$ref": f"#/components/schemas/{name}"}
def problem(description): return {"description": description, "content": {"application/problem+json": {"schema": ref("Problem")}}}
def json_ok(schema, description="OK"): return {"description": description, "content": {"application/json": {"schema": schema}}}
def query(name, description, schema=None, required=False):
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema or {"type": "string"}}
def path(name, description, schema=None):
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema or {"type": "string"}}

REGION = {"type": "string", "pattern": "^[0-9]{2,12}$", "examples": ["08115", "08115003", "08"]}
DATE = {"type": "string", "description": "YYYY-MM-DD (UTC) or an ISO 8601 time", "examples": ["2025-01-01"]}
BOOL = {"type": "string", "enum": ["true", "false"]}
STATUS = {"type": "string", "enum": ["not_started", "planned", "in_progress", "online", "not_applicable"]}
read_errors = {"400": problem("A bad parameter, named in `errors[].field`"), "401": problem("No token or an unknown one (reads need a token unless the service runs with --public-read)"),
               "429": problem("The token's rate limit, or without a token the client address's (--public-rate-limit); see Retry-After"),
               "503": problem("The store cannot be used")}
write_errors = {"401": problem("No token, or an unknown one"), "403": problem("The token may not write there: nothing was written"),
                "429": problem("The token's rate limit, or without a token the client address's; see Retry-After"),
                "503": problem("The store cannot be used"),
                "400": problem("A bad parameter"), "422": problem("Bad content: every bad row with line and field; nothing was written")}
service_filter = [query("topic", "Only services of this Themenfeld (number or name)"), query("municipal", "Only services that concern municipalities", BOOL)]

string = {"type": "string"}
integer = {"type": "integer"}
number = {"type": "number"}
def obj(required, props, extra=False):
    return {"type": "object", "required": required, "properties": props, "additionalProperties": extra}

schemas = {
    "Problem": obj(["type", "title", "status", "detail"], {
        "type": string, "title": string, "status": integer, "detail": string, "total": integer,
        "errors": {"type": "array", "items": obj(["message", "text"], {"file": string, "line": integer, "field": string, "message": string, "text": string})}}),
    "Record": obj(["region", "ozgID", "status", "statusGerman", "updatedAt", "updatedBy", "source"], {
        "region": string, "ozgID": string, "status": STATUS, "statusGerman": string, "maturity": integer, "maturityModel": integer,
        "planned": string, "onlineSince": string, "url": string, "solution": string, "note": string,
        "updatedAt": string, "updatedBy": string, "source": string}),
    "Region": obj(["key", "name", "level", "kind", "population", "areaHectares"], {
        "key": string, "name": string, "level": string, "kind": string, "textCode": integer, "parent": string, "verband": string,
        "population": integer, "areaHectares": integer, "ars": string, "postcode": string}),
    "Service": obj(["ozgID", "name", "themenfeld", "themenfeldName", "lebenslage", "lebenslageName", "leikaTypes", "leikaServices", "municipal"], {
        "ozgID": string, "name": string, "themenfeld": integer, "themenfeldName": string, "lebenslage": integer, "lebenslageName": string,
        "leikaTypes": {"type": "array", "items": string}, "leikaServices": integer, "municipal": {"type": "boolean"}}),
    "Counts": {"type": "object", "required": ["services", "tracked", "relevant", "online"], "properties": {
        "services": integer, "tracked": integer, "byStatus": {"type": "object", "additionalProperties": integer}, "notApplicable": integer,
        "relevant": integer, "online": integer, "onlineIncludingHigherLevel": integer, "shareOnline": number,
        "shareOnlineIncludingHigherLevel": number, "maturityAtLeast3": integer, "shareMaturityAtLeast3": number, "maturityModel2": integer}},
    "StatusListing": obj(["region", "counts", "services"], {
        "region": ref("Region"), "asOf": string, "counts": ref("Counts"),
        "services": {"type": "array", "items": obj(["ozgID", "name", "themenfeld", "municipal"], {
            "ozgID": string, "name": string, "themenfeld": integer, "municipal": {"type": "boolean"}, "record": ref("Record"), "via": string})}}),
    "FieldChange": obj(["field"], {"field": string, "old": string, "new": string}),
    "Change": obj(["at", "actor", "source", "region", "ozgID", "created", "changes"], {
        "at": string, "actor": string, "source": string, "region": string, "ozgID": string, "created": {"type": "boolean"},
        "changes": {"type": "array", "items": ref("FieldChange")}}),
    "Difference": obj(["region", "ozgID", "created", "changes", "lastChangeAt", "lastActor", "lastSource", "fields"], {
        "region": string, "ozgID": string, "created": {"type": "boolean"}, "changes": integer, "lastChangeAt": string,
        "lastActor": string, "lastSource": string, "fields": {"type": "array", "items": ref("FieldChange")}}),
    "CheckResult": {"type": "object", "required": ["scope", "units", "counts", "shortfalls", "totalShortfalls", "holds"], "properties": {
        "scope": string, "units": integer, "counts": ref("Counts"), "totalShortfalls": integer, "orphanedRecords": integer,
        "holds": {"type": "boolean"}, "shortfalls": {"type": "array", "items": {"type": "object", "required": ["kind", "region", "message"]}}}},
    "ImportSummary": {"type": "object", "required": ["rows", "inserted", "updated", "unchanged", "skipped", "dryRun"], "properties": {
        "rows": integer, "inserted": integer, "updated": integer, "unchanged": integer, "skipped": integer,
        "warnings": {"type": "array", "items": string}, "dryRun": {"type": "boolean"}}},
    "SetResult": obj(["result", "created", "dryRun", "region", "ozgID"], {
        "result": {"type": "string", "enum": ["updated", "unchanged"]}, "created": {"type": "boolean"}, "dryRun": {"type": "boolean"},
        "region": string, "ozgID": string, "record": ref("Record")}),
    # null (or "") means "not given": the stored value stays.
    "SetBody": {"type": "object", "additionalProperties": False, "properties": {
        "status": {"type": ["string", "null"], "enum": STATUS["enum"] + [None]}, "maturity": {"type": ["integer", "string", "null"]},
        "maturity_model": {"type": ["integer", "string", "null"]}, "planned": {"type": ["string", "null"]},
        "online_since": {"type": ["string", "null"]}, "url": {"type": ["string", "null"]}, "solution": {"type": ["string", "null"]},
        "note": {"type": ["string", "null"]},
        "clear": {"type": "array", "items": {"type": "string", "enum": ["status", "maturity", "maturity_model", "planned", "online_since", "url", "solution", "note"]}}},
        "examples": [{"status": "online", "maturity": 3, "online_since": "2024-05-01", "url": "https://example.org/antrag"}]},
}

report_content = {media: {"schema": {"type": "string"}} for media in [
    "text/markdown; charset=utf-8", "text/csv; charset=utf-8", "application/json", "application/jsonl", "application/xml", "text/html; charset=utf-8"]}
report_params = [
    query("format", "The report format: markdown (default), csv, json, jsonl, xml, html, or a registered one",
          {"type": "string", "enum": ["markdown", "csv", "json", "jsonl", "xml", "html"]}),
    query("as-of", "The state at this time", DATE), *service_filter,
    query("status", "List only rows with this status (repeatable)", {"type": "string", "enum": STATUS["enum"] + ["untracked"]}),
    query("without-provenance", "Leave out who changed records when", BOOL),
    query("delimiter", "CSV: the delimiter", {"type": "string", "enum": [",", ";"]}), query("bom", "CSV: a UTF-8 byte-order mark", BOOL),
    query("no-formula-protection", "CSV: leave cells starting with = + - @ as they are", BOOL)]

paths = {
    "/healthz": {"get": {"operationId": "health", "summary": "Liveness", "security": [], "responses": {"200": {"description": "ok", "content": {"text/plain; charset=utf-8": {"schema": string}}}}}},
    "/api/v1/catalogue": {"get": {"operationId": "catalogue", "summary": "The OZG-Leistungen (catalogue services --format json)",
        "parameters": [*service_filter, query("search", "Text in name, OZG-ID or LeiKa")],
        "responses": {"200": json_ok({"type": "array", "items": ref("Service")}), **read_errors}}},
    "/api/v1/regions": {"get": {"operationId": "regions", "summary": "Units of the region registry (regions list --format json)",
        "parameters": [query("within", "Units below this region", REGION),
                       query("level", "Only this level", {"type": "string", "enum": ["land", "bezirk", "kreis", "verband", "gemeinde", "gemeindefrei"]})],
        "responses": {"200": json_ok({"type": "array", "items": ref("Region")}), **read_errors}}},
    "/api/v1/status/{region}": {"get": {"operationId": "status", "summary": "Every service with its status in one region (status --format json, the same indented bytes; ETag: the store's latest change)",
        "parameters": [path("region", "AGS, ARS, or a Land, Bezirk, Kreis or Verband key", REGION), query("as-of", "The state at this time", DATE), *service_filter],
        "responses": {"200": json_ok(ref("StatusListing")), **read_errors}}},
    "/api/v1/status/{region}/{ozgId}": {"put": {"operationId": "set", "summary": "Record the status of one service in one region (set)",
        "parameters": [path("region", "The region", REGION), path("ozgId", "The OZG-ID", {"type": "string", "pattern": "^[0-9]{1,5}$"}),
                       query("dry-run", "Validate only; write nothing", BOOL)],
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref("SetBody")}}},
        "responses": {"200": json_ok(ref("SetResult")), **write_errors}}},
    "/api/v1/history/{region}": {"get": {"operationId": "history", "summary": "Every recorded change of a region's records (history --format json)",
        "parameters": [path("region", "The region", REGION), query("ozg-id", "Only this OZG-ID"), query("since", "Changes from this time on", DATE)],
        "responses": {"200": json_ok({"type": "array", "items": ref("Change")}), **read_errors}}},
    "/api/v1/diff": {"get": {"operationId": "diff", "summary": "Records whose state changed in a period (diff --format json)",
        "parameters": [query("since", "The start", DATE, required=True), query("until", "The end (default: now)", DATE), query("scope", "Only this region", REGION)],
        "responses": {"200": json_ok({"type": "array", "items": ref("Difference")}), **read_errors}}},
    "/api/v1/check": {"get": {"operationId": "check", "summary": "Thresholds on the share online and the Reifegrad (check --format json); 200 whether or not it holds",
        "parameters": [query("scope", "Only this region", REGION), query("min-online", "Least share online, percent", {"type": "number", "minimum": 0, "maximum": 100}),
                       query("min-maturity", "Least Reifegrad of online services", {"type": "integer", "minimum": 0, "maximum": 7}),
                       query("maturity-model", "1 or 2", {"type": "string", "enum": ["1", "2"]}), *service_filter,
                       query("own-only", "Count only a Gemeinde's own records", BOOL), query("limit", "List at most this many shortfalls", {"type": "integer", "minimum": 0})],
        "responses": {"200": json_ok(ref("CheckResult")), **read_errors}}},
    "/api/v1/report": {"get": {"operationId": "reportCountry", "summary": "The report of the whole country, streamed", "parameters": report_params,
        "responses": {"200": {"description": "The report", "content": report_content}, **read_errors}}},
    "/api/v1/report/{scope}": {"get": {"operationId": "report", "summary": "The report of a region (or DE), streamed",
        "parameters": [path("scope", "A region key (the whole country: /api/v1/report)", REGION), *report_params],
        "responses": {"200": {"description": "The report", "content": report_content}, **read_errors}}},
    "/api/v1/import": {"post": {"operationId": "import", "summary": "Import records in one transaction: all rows or none (import)",
        "parameters": [query("format", "Overrides the Content-Type", {"type": "string", "enum": ["csv", "json", "dashboard", "dashboard-json", "xml"]}),
                       query("dry-run", "Validate and count; write nothing", BOOL), query("skip-unknown", "Skip rows with unknown keys", BOOL)],
        "requestBody": {"required": True, "content": {
            "text/csv": {"schema": string, "examples": {"row": {"value": "region,ozg_id,status\n08115003,10001,online\n"}}},
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "application/xml": {"schema": string}, "text/xml": {"schema": string},
            "application/vnd.ozgtrack.dashboard+csv": {"schema": string}, "application/vnd.ozgtrack.dashboard+json": {"schema": {}}}},
        "responses": {"200": json_ok(ref("ImportSummary")), **write_errors,
                      "413": problem("The body is larger than the limit: nothing was written"), "415": problem("An unknown Content-Type")}}},
    "/api/v1/openapi.json": {"get": {"operationId": "openapi", "summary": "This description", "security": [],
        "responses": {"200": json_ok({"type": "object"})}}},
}

document = {
    "openapi": "3.1.0",
    "info": {"title": "ozgtrack", "version": "1", "description": "The HTTP service of ozgtrack (`ozgtrack serve`): the rollout of the OZG per region and service. "
             "Errors are RFC 9457 problem details. Writes need a token (`Authorization: Bearer …`, from `ozgtrack token create`); "
             "a write token writes its unit and every unit below it."},
    "servers": [{"url": "http://127.0.0.1:8080"}],
    "security": [{"bearer": []}, {}],
    "paths": paths,
    "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
}
out = pathlib.Path(__file__).resolve().parent.parent / "Sources/OZGService/openapi.json"
out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
print(f"wrote {out}")
