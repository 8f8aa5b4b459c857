import OZGCore

/// What the XML fuzz target (`Fuzz/FuzzXML`, built with `scripts/fuzz.sh`) feeds arbitrary bytes into, and what
/// the regression test replays the kept XML corpus through. It must return normally for every input: errors are
/// expected, crashes, hangs and leaks are findings.
package enum XMLFuzzEntry {
    /// The XML import (streamed, schema-validated while read; its fast path checked against it) and the
    /// stand-alone validator.
    package static func xml(_ bytes: UnsafeRawBufferPointer) {
        let array = [UInt8](bytes)
        if let catalogue = FuzzEntries.catalogue {
            let validator = RecordValidator(catalogue: catalogue, skipUnknown: bytes.count % 2 == 0)
            let source = XMLRecordSource(path: "fuzz.xml", validator: validator, maxBytes: 1 << 20)
            try? source.forEachRow(bytes: array) { result in
                if case .success(let row) = result { _ = try? row.update.applied(to: nil) }
            }
            // The import's fast path must never take a document libxml2 refuses, nor read it differently.
            precondition(source.fastPathAgrees(bytes: array), "the XML fast path and libxml2 disagree on this input")
        }
        _ = try? XMLSchemaValidator(maxBytes: 1 << 20, issueLimit: 100).validate(string: String(decoding: array, as: UTF8.self), name: "fuzz.xml")
    }
}
