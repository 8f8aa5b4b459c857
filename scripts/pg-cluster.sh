#!/bin/sh
# A throwaway PostgreSQL cluster for tests and benchmarks.
#
#   scripts/pg-cluster.sh start [--tls] [DIR]
#                                       create and start a cluster in DIR (default: a new /tmp/ozgtrack-pg.XXXXXX);
#                                       prints DIR on stdout. With --tls the server also speaks TLS (ssl=on), with a
#                                       certificate for the host name `localhost` (only: 127.0.0.1 is deliberately
#                                       not in it) signed by a throwaway CA made with openssl in DIR/tls; the CA's
#                                       certificate is DIR/tls/ca.crt (for sslrootcert=). Plain connections stay
#                                       allowed, so the client's sslmode decides.
#   scripts/pg-cluster.sh url DIR       print the connection URL (postgresql://ozgtrack:PASSWORD@127.0.0.1:PORT/ozgtrack)
#   scripts/pg-cluster.sh stop DIR      stop the server and delete DIR
#   scripts/pg-cluster.sh pause DIR     stop the server (fast shutdown), keep its data (fault tests)
#   scripts/pg-cluster.sh resume DIR    start a paused server again on the same port
#
# The server refuses to run as root, so as root the cluster is created and run by the user `postgres` (override with
# PG_CLUSTER_USER); as any other user it runs as that user. It listens on 127.0.0.1 only, on a free port, with its
# Unix socket inside DIR, and keeps fsync on: the crash tests rely on committed transactions surviving a killed
# client and a stopped server. Local connections through the socket are trusted for the cluster's superuser (used by
# this script only); TCP connections need a password (scram-sha-256), so the tests exercise authentication. The role
# `ozgtrack` (LOGIN, CREATEROLE, password random per cluster) owns the database `ozgtrack`.
#
# Needs the PostgreSQL server binaries (Debian: `apt-get install postgresql`; found through pg_config, /usr/lib/
# postgresql/*/bin or PATH) and python3 (to find a free port and make the password); --tls also needs openssl.
set -eu

usage() {
    echo "usage: $0 start [--tls] [DIR] | url DIR | stop DIR | pause DIR | resume DIR" >&2
    exit 2
}

find_bin() {
    for candidate in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
        if [ -n "$candidate" ] && [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
            echo "$candidate"
            return
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    echo "pg-cluster: no PostgreSQL server found (initdb, pg_ctl): install it, e.g. 'apt-get install postgresql'" >&2
    exit 1
}

# Runs a command as the cluster's user.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$OWNER" -- "$@"
    else
        "$@"
    fi
}

OWNER=${PG_CLUSTER_USER:-postgres}
[ "$(id -u)" = 0 ] || OWNER=$(id -un)
COMMAND=${1:-}
[ -n "$COMMAND" ] || usage

case "$COMMAND" in
start)
    BIN=$(find_bin)
    TLS=
    if [ "${2:-}" = --tls ]; then
        TLS=1
        shift
    fi
    DIR=${2:-}
    if [ -z "$DIR" ]; then
        DIR=$(mktemp -d /tmp/ozgtrack-pg.XXXXXX)
    else
        mkdir -p "$DIR"
    fi
    DIR=$(cd "$DIR" && pwd)
    if [ -e "$DIR/data" ]; then
        echo "pg-cluster: $DIR already holds a cluster" >&2
        exit 1
    fi
    chmod 755 "$DIR"
    [ "$(id -u)" = 0 ] && chown "$OWNER" "$DIR"
    if ! as_owner test -w "$DIR"; then
        echo "pg-cluster: the user $OWNER cannot write to $DIR (is a parent directory closed to it?)" >&2
        exit 1
    fi
    PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    as_owner mkdir -p "$DIR/socket"
    as_owner "$BIN/initdb" --pgdata="$DIR/data" --username=postgres --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || {
        cat "$DIR/initdb.log" >&2
        exit 1
    }
    # The server's options, kept for resume.
    OPTIONS="-c listen_addresses=127.0.0.1 -c unix_socket_directories=$DIR/socket -c fsync=on -c max_connections=200"
    if [ -n "$TLS" ]; then
        # A throwaway CA and a server certificate for `localhost` signed by it (valid for a day).
        as_owner mkdir -p "$DIR/tls"
        tls_failed() {
            echo "pg-cluster: could not make the TLS certificates with openssl" >&2
            exit 1
        }
        T="$DIR/tls"
        as_owner openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=ozgtrack test CA" \
            -keyout "$T/ca.key" -out "$T/ca.crt" >/dev/null 2>&1 || tls_failed
        as_owner openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$T/server.key" \
            -out "$T/server.csr" >/dev/null 2>&1 || tls_failed
        printf 'subjectAltName = DNS:localhost\nbasicConstraints = CA:FALSE\n' | as_owner tee "$T/server.ext" >/dev/null
        as_owner openssl x509 -req -in "$T/server.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 1 \
            -extfile "$T/server.ext" -out "$T/server.crt" >/dev/null 2>&1 || tls_failed
        as_owner chmod 600 "$T/server.key" "$T/ca.key"
        as_owner chmod 755 "$T"
        as_owner chmod 644 "$T/ca.crt"
        OPTIONS="$OPTIONS -c ssl=on -c ssl_cert_file=$DIR/tls/server.crt -c ssl_key_file=$DIR/tls/server.key"
    fi
    echo "$OPTIONS" >"$DIR/options"
    # A free port: bind to port 0, read the port, release it; retry if another process takes it in between.
    attempt=0
    while :; do
        PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
        if as_owner "$BIN/pg_ctl" --pgdata="$DIR/data" --log="$DIR/server.log" --wait --timeout=60 \
            -o "$OPTIONS -c port=$PORT" start >/dev/null 2>&1; then
            break
        fi
        attempt=$((attempt + 1))
        if [ "$attempt" -ge 5 ]; then
            echo "pg-cluster: the server did not start; its log:" >&2
            cat "$DIR/server.log" >&2
            exit 1
        fi
    done
    as_owner "$BIN/psql" --no-psqlrc --quiet --host="$DIR/socket" --port="$PORT" --username=postgres --dbname=postgres \
        --set=ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE ROLE ozgtrack LOGIN CREATEROLE PASSWORD '$PASSWORD';
CREATE DATABASE ozgtrack OWNER ozgtrack;
SQL
    echo "postgresql://ozgtrack:$PASSWORD@127.0.0.1:$PORT/ozgtrack" >"$DIR/url"
    echo "$PORT" >"$DIR/port"
    chmod 600 "$DIR/url"
    echo "$DIR"
    ;;
pause)
    DIR=${2:-}
    [ -n "$DIR" ] || usage
    BIN=$(find_bin)
    as_owner "$BIN/pg_ctl" --pgdata="$DIR/data" --mode=fast --wait stop >/dev/null
    ;;
resume)
    DIR=${2:-}
    [ -n "$DIR" ] || usage
    BIN=$(find_bin)
    PORT=$(cat "$DIR/port")
    OPTIONS=$(cat "$DIR/options")
    as_owner "$BIN/pg_ctl" --pgdata="$DIR/data" --log="$DIR/server.log" --wait --timeout=60 \
        -o "$OPTIONS -c port=$PORT" start >/dev/null
    ;;
url)
    DIR=${2:-}
    [ -n "$DIR" ] || usage
    cat "$DIR/url"
    ;;
stop)
    DIR=${2:-}
    [ -n "$DIR" ] || usage
    if [ -d "$DIR/data" ]; then
        BIN=$(find_bin)
        as_owner "$BIN/pg_ctl" --pgdata="$DIR/data" --mode=fast --wait stop >/dev/null 2>&1 || true
    fi
    rm -rf "$DIR"
    ;;
*)
    usage
    ;;
esac
