#!/usr/bin/env bash
# A private PostgreSQL instance for sealpost's tests (CI and developers).
#
#   tests/pg.sh start [DIR [PORT]]   initdb DIR (default /tmp/sealpost-pg), start it
#                                    on a Unix socket in DIR/sock and on
#                                    127.0.0.1:PORT (default 55432) with TLS,
#                                    and print the lines to eval:
#                                      SEALPOST_TEST_PG     libpq URL (Unix socket)
#                                      SEALPOST_TEST_PG_TLS libpq URL over TCP + TLS
#                                      SEALPOST_TEST_PG_CA  the CA file of its certificate
#   tests/pg.sh stop [DIR]           stop it (fast) and remove DIR
#   tests/pg.sh pause|resume [DIR]   stop / start it again keeping the data
#                                    (the tests that take the database away)
#
# Run as root (CI), the server runs as the `postgres` user that Debian's
# package creates; as anyone else, as that user. Binaries come from
# Debian's postgresql package (/usr/lib/postgresql/*/bin).
set -euo pipefail

cmd=${1:-}
dir=${2:-/tmp/sealpost-pg}
port=${3:-55432}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "pg.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    if [ -e "$dir/data/postmaster.pid" ]; then
        echo "pg.sh: $dir is running already (tests/pg.sh stop $dir)" >&2
        exit 1
    fi
    rm -rf "$dir"
    mkdir -p "$dir/sock"
    # A CA and a server certificate for 127.0.0.1/localhost, so TLS to the
    # database is tested with a CA file as an operator would set it up.
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=sealpost test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$dir/san.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 2 -extfile "$dir/san.ext" -out "$dir/server.pem" >/dev/null 2>&1
    chmod 0600 "$dir/server.key"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres:postgres "$dir"
    fi
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/sock'
max_connections = 300
ssl = on
ssl_cert_file = '$dir/server.pem'
ssl_key_file = '$dir/server.key'
shared_buffers = 64MB
log_min_messages = warning
EOF
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null || {
        cat "$dir/server.log" >&2
        exit 1
    }
    echo "export SEALPOST_TEST_PG='postgresql://postgres@/postgres?host=$dir/sock&port=$port'"
    echo "export SEALPOST_TEST_PG_TLS='postgresql://postgres@localhost:$port/postgres?sslmode=require'"
    echo "export SEALPOST_TEST_PG_CA='$dir/ca.pem'"
    ;;
stop)
    if [ -e "$dir/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
pause)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
resume)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
    ;;
*)
    echo "usage: tests/pg.sh start|stop|pause|resume [DIR [PORT]]" >&2
    exit 2
    ;;
esac
