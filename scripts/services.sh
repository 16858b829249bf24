#!/usr/bin/env bash
# Real services for the integration tests: Mosquitto, RabbitMQ and InfluxDB 1.x from Debian
# packages, started by hand (no systemd, no Docker), bound to 127.0.0.1 on non-default ports,
# with configuration, data, logs and PID files in one state folder, and stopped by PID.
# InfluxDB runs twice: without authentication, and with it (`[http] auth-enabled = true`, an admin
# user and a user without admin rights, for the credential checks).
#
#   scripts/services.sh start      DIR          install what is missing, start all of them, write DIR/env
#   scripts/services.sh stop       DIR          stop everything started in DIR (idempotent, never fails)
#   scripts/services.sh stop-one   DIR NAME     SIGTERM one service and wait for it to exit
#   scripts/services.sh kill-one   DIR NAME     SIGKILL one service
#   scripts/services.sh start-one  DIR NAME     start one service again, same config and data
#
# NAME is mosquitto | rabbitmq | influxd | influxd-auth.
# Ports (chosen by `start`, remembered in DIR/ports for the *-one commands):
#   TELEMETRY_TEST_MQTT_PORT            31883  anonymous MQTT listener
#   TELEMETRY_TEST_MQTT_AUTH_PORT       31884  MQTT listener with passwords and the device ACL
#   TELEMETRY_TEST_MQTT_PROD_PORT       31885  MQTT listener configured like deploy/: passwords, deploy/'s
#                                              ACL, client id = username, no topic aliases
#   TELEMETRY_TEST_RABBITMQ_PORT        35672  AMQP
#   TELEMETRY_TEST_RABBITMQ_DIST_PORT   35673  Erlang distribution (rabbitmqctl: the next 10 ports)
#   TELEMETRY_TEST_EPMD_PORT            34369  epmd (a private one, so `epmd -kill` only hits ours)
#   TELEMETRY_TEST_INFLUX_PORT          38086  InfluxDB HTTP
#   TELEMETRY_TEST_INFLUX_RPC_PORT      38088  InfluxDB RPC (backup/restore)
#   TELEMETRY_TEST_INFLUX_AUTH_PORT     38096  InfluxDB HTTP with authentication
#   TELEMETRY_TEST_INFLUX_AUTH_RPC_PORT 38098  its RPC port
# DIR/env exports, besides the addresses, for the authenticated InfluxDB:
#   TELEMETRY_TEST_INFLUX_AUTH_URL, TELEMETRY_TEST_INFLUX_AUTH_ADMIN (admin user:password) and
#   TELEMETRY_TEST_INFLUX_AUTH_USER (user:password of a user without admin rights, granted nothing;
#   tests grant it what they need on databases of their own). Both users and the database
#   telemetry exist once `start` returns.
# DIR/env also exports TELEMETRY_TEST_CHROMIUM, the headless browser of the browser tests (Debian's
# `chromium`, with `fonts-noto-cjk` for Chinese text; `start` installs both when missing). It is a
# program, not a service: nothing is started or stopped for it.
# TELEMETRY_TEST_SERVICES_TIMEOUT (seconds, default 60): how long to wait for each service.
set -euo pipefail

SCRIPT="$(readlink -f "${BASH_SOURCE[0]}")"
SERVICES=(mosquitto rabbitmq influxd influxd-auth)
RABBIT_BIN=/usr/lib/rabbitmq/bin
CHROMIUM=/usr/bin/chromium
TIMEOUT="${TELEMETRY_TEST_SERVICES_TIMEOUT:-60}"

ROOT="$(cd "$(dirname "$SCRIPT")/.." && pwd)"
DEPLOY_MOSQUITTO="$ROOT/deploy/mosquitto"
REGISTRY="$ROOT/src/Telemetry.Fleet/Registry/jiyang.json"

# Test users on the authenticated listeners: every Jiyang bin and vehicle (password test-<id>), the
# ingestion user of the authenticated listener, and the per-replica ingestion users of deploy/'s
# ACL on the production-like listener (password test-<user>).
INGEST_USER=telemetry-ingest
INGEST_PASSWORD=test-ingest
PROD_INGEST_USERS=(telemetry-ingest-1 telemetry-ingest-2)

# Users of the authenticated InfluxDB: an admin, and one without admin rights.
INFLUX_ADMIN_USER=telemetry-admin
INFLUX_ADMIN_PASSWORD=test-admin
INFLUX_USER=telemetry-writer
INFLUX_USER_PASSWORD=test-writer

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$SCRIPT" >&2
    exit 2
}

raise_nofile() {
    # As high as allowed: many simulated devices, one connection each.
    ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

# ---------------------------------------------------------------- packages

ensure_packages() {
    # Only the packages whose programs are missing (installing an installed one would upgrade it).
    local missing=()
    [[ -x /usr/sbin/mosquitto ]] || command -v mosquitto >/dev/null 2>&1 || missing+=(mosquitto)
    command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
    [[ -x $RABBIT_BIN/rabbitmq-server ]] || missing+=(rabbitmq-server)
    command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
    command -v influx >/dev/null 2>&1 || missing+=(influxdb-client)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    [[ -x $CHROMIUM ]] || missing+=(chromium)
    package_installed fonts-noto-cjk || missing+=(fonts-noto-cjk)
    [[ ${#missing[@]} -eq 0 ]] && return 0

    log "installing from Debian's archive: ${missing[*]}"
    [[ $(id -u) -eq 0 ]] || die "must run as root to install packages (missing: ${missing[*]})"
    # Installing a server package must not start its daemon on the default ports.
    if [[ ! -x /usr/sbin/policy-rc.d ]] || ! grep -q 'exit 101' /usr/sbin/policy-rc.d 2>/dev/null; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    [[ -x $RABBIT_BIN/rabbitmq-server ]] && command -v influxd >/dev/null && command -v mosquitto_pub >/dev/null \
        && [[ -x $CHROMIUM ]] && package_installed fonts-noto-cjk \
        || die "packages installed but programs still missing"
}

# A package without a program of its own to look for (fonts).
package_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}

# ---------------------------------------------------------------- ports

choose_ports() {
    local dir=$1
    cat > "$dir/ports" <<EOF
MQTT_PORT=${TELEMETRY_TEST_MQTT_PORT:-31883}
MQTT_AUTH_PORT=${TELEMETRY_TEST_MQTT_AUTH_PORT:-31884}
MQTT_PROD_PORT=${TELEMETRY_TEST_MQTT_PROD_PORT:-31885}
RABBIT_PORT=${TELEMETRY_TEST_RABBITMQ_PORT:-35672}
RABBIT_DIST_PORT=${TELEMETRY_TEST_RABBITMQ_DIST_PORT:-35673}
EPMD_PORT=${TELEMETRY_TEST_EPMD_PORT:-34369}
INFLUX_PORT=${TELEMETRY_TEST_INFLUX_PORT:-38086}
INFLUX_RPC_PORT=${TELEMETRY_TEST_INFLUX_RPC_PORT:-38088}
INFLUX_AUTH_PORT=${TELEMETRY_TEST_INFLUX_AUTH_PORT:-38096}
INFLUX_AUTH_RPC_PORT=${TELEMETRY_TEST_INFLUX_AUTH_RPC_PORT:-38098}
EOF
}

load_ports() {
    local dir=$1
    [[ -f $dir/ports ]] || die "$dir/ports not found: run '$SCRIPT start $dir' first"
    # shellcheck disable=SC1091
    source "$dir/ports"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

require_free_port() {
    local port=$1 what=$2 var=$3
    if port_open "$port"; then
        die "port $port ($what) on 127.0.0.1 is already in use; stop whatever holds it or set $var"
    fi
}

# ---------------------------------------------------------------- processes

read_pid() {
    local f=$1/$2.pid
    [[ -s $f ]] || return 1
    local pid
    pid=$(tr -dc '0-9' < "$f")
    [[ -n $pid ]] || return 1
    printf '%s' "$pid"
}

# The process name a service's PID must have (guards against a recycled PID).
comm_of() {
    case $1 in
        mosquitto) echo mosquitto ;;
        rabbitmq) echo beam.smp ;;
        influxd | influxd-auth) echo influxd ;;
    esac
}

# Prints the PID if the service is running.
running_pid() {
    local dir=$1 name=$2 pid comm
    pid=$(read_pid "$dir" "$name") || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
    [[ -z $comm || $comm == "$(comm_of "$name")" ]] || return 1
    printf '%s' "$pid"
}

wait_exit() {
    local pid=$1 seconds=$2 i
    for ((i = 0; i < seconds * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}

stop_pid() {
    local dir=$1 name=$2 pid
    pid=$(running_pid "$dir" "$name") || return 0
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_exit "$pid" 15; then
        log "$name (pid $pid) did not stop within 15 s; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_exit "$pid" 5 || true
    fi
}

fail_start() {
    local name=$1 logfile=$2 why=$3
    printf '[services] ERROR: %s did not become ready: %s\n' "$name" "$why" >&2
    if [[ -f $logfile ]]; then
        printf '[services] last lines of %s:\n' "$logfile" >&2
        tail -n 30 "$logfile" >&2 || true
    fi
    exit 1
}

# ---------------------------------------------------------------- mosquitto

# The vehicle ids of the shipped registry (its "vehicles" array comes last, one vehicle a line).
registry_vehicle_ids() {
    sed -n '/"vehicles"/,$p' "$REGISTRY" | grep -o '"id": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/'
}

mosquitto_configure() {
    local dir=$1 m=$1/mosquitto
    mkdir -p "$m/data"
    local vehicles
    vehicles=$(registry_vehicle_ids)
    [[ -n $vehicles ]] || die "no vehicle ids found in $REGISTRY"
    # A state folder from before the vehicles had users gets its password file again.
    if [[ ! -s $m/passwords ]] || ! grep -q "^$(head -n 1 <<<"$vehicles"):" "$m/passwords"; then
        : > "$m/passwords"
        local i id
        for i in $(seq 1 55); do
            printf -v id 'JY-%03d' "$i"
            mosquitto_passwd -b "$m/passwords" "$id" "test-$id"
        done
        for id in $vehicles; do
            mosquitto_passwd -b "$m/passwords" "$id" "test-$id"
        done
        mosquitto_passwd -b "$m/passwords" "$INGEST_USER" "$INGEST_PASSWORD"
        local u
        for u in "${PROD_INGEST_USERS[@]}"; do
            mosquitto_passwd -b "$m/passwords" "$u" "test-$u"
        done
        chmod 600 "$m/passwords"
    fi
    # The production-like listener reads deploy/'s own ACL, so the tests check what is shipped.
    cp "$DEPLOY_MOSQUITTO/acl" "$m/acl-deploy"
    local max_packet_size
    max_packet_size=$(deploy_max_packet_size)
    cat > "$m/acl" <<EOF
# Devices: username = client id = bin id; each may publish only under its own bins/{id}/.
pattern write bins/%u/#
pattern read bins/%u/#
# Trucks: username = client id = vehicle id; each may publish only its own position.
pattern write vehicles/%u/position

# Ingestion reads every bin and vehicle; on Mosquitto 2.0 this also covers the shared subscriptions
# \$share/<group>/bins/# and \$share/<group>/vehicles/+/position (the ACL is checked against the
# topic filter without the prefix).
user $INGEST_USER
topic read bins/#
topic read vehicles/#
EOF
    cat > "$m/mosquitto.conf" <<EOF
# Generated by scripts/services.sh for the tests.
per_listener_settings true
user root
pid_file $dir/mosquitto.pid
log_dest file $dir/mosquitto.log
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
log_timestamp_format %Y-%m-%dT%H:%M:%S

persistence true
persistence_location $m/data/
persistence_file mosquitto.db
autosave_interval 30

# The default (1000) silently drops QoS 1 messages queued for an offline or slow
# subscriber; the ingestion backlog must survive.
max_queued_messages 2000000
max_inflight_messages 1000

# As deploy/ (global in Mosquitto: every listener): a device's packet above it is refused and the
# device disconnected; below ingestion's Maximum Packet Size, so whatever is accepted reaches it.
max_packet_size $max_packet_size

# Anonymous listener.
listener $MQTT_PORT 127.0.0.1
allow_anonymous true

# Authenticated listener: per-device passwords and the production ACL.
listener $MQTT_AUTH_PORT 127.0.0.1
allow_anonymous false
password_file $m/passwords
acl_file $m/acl

# Production-like listener: deploy/mosquitto.conf's listener options and deploy/'s ACL. The client id
# is the username, so a device cannot take over another client's session with its own credentials.
listener $MQTT_PROD_PORT 127.0.0.1
allow_anonymous false
password_file $m/passwords
acl_file $m/acl-deploy
use_username_as_clientid true
max_topic_alias 0
EOF
}

# The max_packet_size deploy/mosquitto/mosquitto.conf sets: one value for production and tests.
deploy_max_packet_size() {
    local v
    v=$(awk '$1 == "max_packet_size" { print $2; exit }' "$DEPLOY_MOSQUITTO/mosquitto.conf")
    [[ $v =~ ^[0-9]+$ ]] || die "no max_packet_size in $DEPLOY_MOSQUITTO/mosquitto.conf"
    printf '%s' "$v"
}

mosquitto_start() {
    local dir=$1 pid
    if pid=$(running_pid "$dir" mosquitto); then
        log "mosquitto already running (pid $pid)"
        return 0
    fi
    require_free_port "$MQTT_PORT" "MQTT" TELEMETRY_TEST_MQTT_PORT
    require_free_port "$MQTT_AUTH_PORT" "MQTT with authentication" TELEMETRY_TEST_MQTT_AUTH_PORT
    require_free_port "$MQTT_PROD_PORT" "MQTT configured like deploy/" TELEMETRY_TEST_MQTT_PROD_PORT
    rm -f "$dir/mosquitto.pid"
    /usr/sbin/mosquitto -d -c "$dir/mosquitto/mosquitto.conf" </dev/null >>"$dir/mosquitto.out" 2>&1 \
        || fail_start mosquitto "$dir/mosquitto.log" "mosquitto -d exited with $? (see also $dir/mosquitto.out)"
    local deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        if [[ -s $dir/mosquitto.pid ]] && port_open "$MQTT_PORT" && port_open "$MQTT_AUTH_PORT" && port_open "$MQTT_PROD_PORT"; then
            # A real MQTT exchange on each listener (CONNECT/SUBSCRIBE, -E: exit on SUBACK), the
            # others authenticated (the last one as a device, which the ACL lets read its own topics).
            if timeout 5 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t telemetry/ready -E >/dev/null 2>&1 &&
                timeout 5 mosquitto_sub -h 127.0.0.1 -p "$MQTT_AUTH_PORT" -u "$INGEST_USER" -P "$INGEST_PASSWORD" \
                    -t bins/ready -E >/dev/null 2>&1 &&
                timeout 5 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PROD_PORT" -u JY-055 -P test-JY-055 \
                    -t bins/JY-055/ready -E >/dev/null 2>&1; then
                log "mosquitto ready on 127.0.0.1:$MQTT_PORT (anonymous), :$MQTT_AUTH_PORT (authenticated) and :$MQTT_PROD_PORT (as deploy/), pid $(read_pid "$dir" mosquitto)"
                return 0
            fi
        fi
        if [[ -s $dir/mosquitto.pid ]] && ! running_pid "$dir" mosquitto >/dev/null; then
            fail_start mosquitto "$dir/mosquitto.log" "the process exited"
        fi
        sleep 0.1
    done
    fail_start mosquitto "$dir/mosquitto.log" "no MQTT answer within ${TIMEOUT} s"
}

# ---------------------------------------------------------------- rabbitmq

# Runs a RabbitMQ command with rabbit's environment (HOME only for these commands, so that
# NuGet's cache and everything else keeps the caller's HOME). The CLI tools (rabbitmqctl)
# are Erlang nodes too and by default listen on 35672-35682, our AMQP port: they get the ten
# ports after the server's distribution port instead.
rabbit_env() {
    local dir=$1; shift
    local r=$dir/rabbitmq
    env HOME="$r/home" \
        RABBITMQ_NODENAME=rabbit@localhost \
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_DIST_PORT="$RABBIT_DIST_PORT" \
        RABBITMQ_CTL_DIST_PORT_MIN="$((RABBIT_DIST_PORT + 1))" \
        RABBITMQ_CTL_DIST_PORT_MAX="$((RABBIT_DIST_PORT + 10))" \
        ERL_EPMD_ADDRESS=127.0.0.1 \
        ERL_EPMD_PORT="$EPMD_PORT" \
        RABBITMQ_MNESIA_BASE="$r/mnesia" \
        RABBITMQ_LOG_BASE="$r/log" \
        RABBITMQ_PID_FILE="$dir/rabbitmq.pid" \
        RABBITMQ_CONFIG_FILE="$r/rabbitmq.conf" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$r/enabled_plugins" \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
        "$@"
}

rabbit_configure() {
    local dir=$1 r=$1/rabbitmq
    mkdir -p "$r/home" "$r/mnesia" "$r/log"
    cat > "$r/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$RABBIT_PORT
# guest/guest over loopback only (the default), which is all the tests use.
loopback_users.guest = true
log.file.level = info
log.console = false
EOF
    echo '[].' > "$r/enabled_plugins"
}

rabbit_start() {
    local dir=$1 pid
    if pid=$(running_pid "$dir" rabbitmq); then
        log "rabbitmq already running (pid $pid)"
        return 0
    fi
    require_free_port "$RABBIT_PORT" "AMQP" TELEMETRY_TEST_RABBITMQ_PORT
    require_free_port "$RABBIT_DIST_PORT" "Erlang distribution" TELEMETRY_TEST_RABBITMQ_DIST_PORT
    rm -f "$dir/rabbitmq.pid"
    rabbit_env "$dir" "$RABBIT_BIN/rabbitmq-server" -detached </dev/null >>"$dir/rabbitmq.out" 2>&1 \
        || fail_start rabbitmq "$dir/rabbitmq.out" "rabbitmq-server -detached exited with $?"
    # `rabbitmqctl wait PIDFILE` waits for the PID file, then for the app to boot.
    if ! rabbit_env "$dir" timeout "$TIMEOUT" "$RABBIT_BIN/rabbitmqctl" wait --timeout "$TIMEOUT" "$dir/rabbitmq.pid" \
        >>"$dir/rabbitmq.out" 2>&1; then
        cat "$dir"/rabbitmq/log/*.log >> "$dir/rabbitmq.out" 2>/dev/null || true
        fail_start rabbitmq "$dir/rabbitmq.out" "rabbitmqctl wait failed (the node did not boot within ${TIMEOUT} s)"
    fi
    port_open "$RABBIT_PORT" || fail_start rabbitmq "$dir/rabbitmq.out" "AMQP port $RABBIT_PORT is not open"
    log "rabbitmq ready on 127.0.0.1:$RABBIT_PORT, pid $(read_pid "$dir" rabbitmq)"
}

rabbit_stop() {
    local dir=$1 pid
    if pid=$(running_pid "$dir" rabbitmq); then
        log "stopping rabbitmq (pid $pid) with rabbitmqctl shutdown"
        rabbit_env "$dir" timeout 30 "$RABBIT_BIN/rabbitmqctl" shutdown >>"$dir/rabbitmq.out" 2>&1 || true
        stop_pid "$dir" rabbitmq
    fi
}

epmd_kill() {
    local dir=$1
    # Our private epmd (ERL_EPMD_PORT); it outlives `rabbitmqctl shutdown`.
    if [[ -n ${EPMD_PORT:-} ]] && command -v epmd >/dev/null 2>&1; then
        ERL_EPMD_PORT=$EPMD_PORT timeout 10 epmd -kill >/dev/null 2>&1 || true
    fi
}

# ---------------------------------------------------------------- influxd

# influxd and influxd-auth: the same server twice, each with its own folder, ports, log and PID
# file. Sets INSTANCE_PORT, INSTANCE_RPC_PORT, INSTANCE_AUTH and the ports' variable names.
influx_instance() {
    case $1 in
        influxd)
            INSTANCE_PORT=$INFLUX_PORT INSTANCE_RPC_PORT=$INFLUX_RPC_PORT INSTANCE_AUTH=false
            INSTANCE_PORT_VAR=TELEMETRY_TEST_INFLUX_PORT INSTANCE_RPC_PORT_VAR=TELEMETRY_TEST_INFLUX_RPC_PORT ;;
        influxd-auth)
            INSTANCE_PORT=$INFLUX_AUTH_PORT INSTANCE_RPC_PORT=$INFLUX_AUTH_RPC_PORT INSTANCE_AUTH=true
            INSTANCE_PORT_VAR=TELEMETRY_TEST_INFLUX_AUTH_PORT INSTANCE_RPC_PORT_VAR=TELEMETRY_TEST_INFLUX_AUTH_RPC_PORT ;;
    esac
}

influx_configure() {
    local dir=$1 name=$2
    influx_instance "$name"
    # The first instance keeps its historical folder name (influxdb/).
    local x=$dir/influxdb
    [[ $name == influxd ]] || x=$dir/$name
    mkdir -p "$x/meta" "$x/data" "$x/wal"
    cat > "$x/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$INSTANCE_RPC_PORT"

[meta]
  dir = "$x/meta"

[data]
  dir = "$x/data"
  wal-dir = "$x/wal"
  query-log-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:$INSTANCE_PORT"
  log-enabled = false
  auth-enabled = $INSTANCE_AUTH

[monitor]
  store-enabled = false

[continuous_queries]
  log-enabled = false
EOF
}

# One InfluxQL statement over POST /query: prints the answer, fails unless it is 2xx without an
# "error". Credentials (USER:PASSWORD, plain words) go in the URL: influxd 1.6 does not read them
# from a form body.
influx_command() {
    local port=$1 statement=$2 credentials=${3:-} out code
    local url="http://127.0.0.1:$port/query"
    [[ -z $credentials ]] || url+="?u=${credentials%%:*}&p=${credentials#*:}"
    out=$(curl -sS -m 10 -XPOST "$url" --data-urlencode "q=$statement" -w '\n%{http_code}' 2>&1) || { echo "$out"; return 1; }
    code=${out##*$'\n'}
    out=${out%$'\n'*}
    echo "$out"
    [[ $code == 2* && $out != *'"error"'* ]]
}

# The authenticated instance's users and database. While no user exists, influxd takes the first
# admin user without credentials; after a restart (start-one) the users exist and creating them
# again with the admin's credentials and the same passwords changes nothing.
influx_auth_setup() {
    local dir=$1 port=$2 out admin="$INFLUX_ADMIN_USER:$INFLUX_ADMIN_PASSWORD"
    local create_admin="CREATE USER \"$INFLUX_ADMIN_USER\" WITH PASSWORD '$INFLUX_ADMIN_PASSWORD' WITH ALL PRIVILEGES"
    out=$(influx_command "$port" "$create_admin" "$admin") || out=$(influx_command "$port" "$create_admin") \
        || fail_start influxd-auth "$dir/influxd-auth.log" "creating the admin user failed: $out"
    out=$(influx_command "$port" "CREATE USER \"$INFLUX_USER\" WITH PASSWORD '$INFLUX_USER_PASSWORD'" "$admin") \
        || fail_start influxd-auth "$dir/influxd-auth.log" "creating the user without admin rights failed: $out"
    out=$(influx_command "$port" "CREATE DATABASE telemetry" "$admin") \
        || fail_start influxd-auth "$dir/influxd-auth.log" "CREATE DATABASE telemetry failed: $out"
    # Authentication is really on: the same kind of statement without credentials is refused.
    if out=$(influx_command "$port" "SHOW DATABASES"); then
        fail_start influxd-auth "$dir/influxd-auth.log" "SHOW DATABASES without credentials was answered ($out): authentication is off"
    fi
}

influx_start() {
    local dir=$1 name=$2 pid
    influx_instance "$name"
    local conf=$dir/influxdb/influxdb.conf
    [[ $name == influxd ]] || conf=$dir/$name/influxdb.conf
    if pid=$(running_pid "$dir" "$name"); then
        log "$name already running (pid $pid)"
        return 0
    fi
    require_free_port "$INSTANCE_PORT" "InfluxDB HTTP ($name)" "$INSTANCE_PORT_VAR"
    require_free_port "$INSTANCE_RPC_PORT" "InfluxDB RPC ($name)" "$INSTANCE_RPC_PORT_VAR"
    rm -f "$dir/$name.pid"
    # Its own session: a Ctrl+C in the caller's terminal or the end of a test process that
    # ran start-one does not take it down; `stop` does, by PID.
    setsid influxd run -config "$conf" -pidfile "$dir/$name.pid" \
        </dev/null >>"$dir/$name.log" 2>&1 &
    local i code out deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$INSTANCE_PORT/ping" 2>/dev/null || true)
        if [[ $code == 204 ]]; then
            if [[ $INSTANCE_AUTH == true ]]; then
                influx_auth_setup "$dir" "$INSTANCE_PORT"
            else
                out=$(influx_command "$INSTANCE_PORT" "CREATE DATABASE telemetry") \
                    || fail_start "$name" "$dir/$name.log" "CREATE DATABASE telemetry failed: $out"
            fi
            for ((i = 0; i < 50; i++)); do [[ -s $dir/$name.pid ]] && break; sleep 0.1; done
            log "$name ready on http://127.0.0.1:$INSTANCE_PORT (database telemetry$([[ $INSTANCE_AUTH == true ]] && echo ', authentication on')), pid $(read_pid "$dir" "$name" || echo '?')"
            return 0
        fi
        if [[ -s $dir/$name.pid ]] && ! running_pid "$dir" "$name" >/dev/null; then
            fail_start "$name" "$dir/$name.log" "the process exited"
        fi
        sleep 0.1
    done
    fail_start "$name" "$dir/$name.log" "/ping did not answer 204 within ${TIMEOUT} s"
}

# ---------------------------------------------------------------- commands

write_env() {
    local dir=$1
    cat > "$dir/env" <<EOF
export TELEMETRY_TEST_MQTT=mqtt://127.0.0.1:$MQTT_PORT
export TELEMETRY_TEST_MQTT_AUTH=mqtt://127.0.0.1:$MQTT_AUTH_PORT
export TELEMETRY_TEST_MQTT_PROD=mqtt://127.0.0.1:$MQTT_PROD_PORT
export TELEMETRY_TEST_MQTT_MAX_PACKET_SIZE=$(deploy_max_packet_size)
export TELEMETRY_TEST_RABBITMQ_HOST=127.0.0.1
export TELEMETRY_TEST_RABBITMQ_PORT=$RABBIT_PORT
export TELEMETRY_TEST_INFLUX_URL=http://127.0.0.1:$INFLUX_PORT
export TELEMETRY_TEST_INFLUX_AUTH_URL=http://127.0.0.1:$INFLUX_AUTH_PORT
export TELEMETRY_TEST_INFLUX_AUTH_ADMIN=$INFLUX_ADMIN_USER:$INFLUX_ADMIN_PASSWORD
export TELEMETRY_TEST_INFLUX_AUTH_USER=$INFLUX_USER:$INFLUX_USER_PASSWORD
export TELEMETRY_TEST_CHROMIUM=$CHROMIUM
export TELEMETRY_TEST_SERVICES_DIR=$dir
export TELEMETRY_TEST_SERVICES_SCRIPT=$SCRIPT
EOF
}

start_one() {
    local dir=$1 name=$2
    case $name in
        mosquitto) mosquitto_configure "$dir"; mosquitto_start "$dir" ;;
        rabbitmq) rabbit_configure "$dir"; rabbit_start "$dir" ;;
        influxd | influxd-auth) influx_configure "$dir" "$name"; influx_start "$dir" "$name" ;;
        *) die "unknown service '$name' (mosquitto, rabbitmq, influxd or influxd-auth)" ;;
    esac
}

stop_one() {
    local dir=$1 name=$2
    case $name in
        mosquitto | influxd | influxd-auth) stop_pid "$dir" "$name" ;;
        rabbitmq) rabbit_stop "$dir" ;;
        *) die "unknown service '$name' (mosquitto, rabbitmq, influxd or influxd-auth)" ;;
    esac
}

kill_one() {
    local dir=$1 name=$2 pid
    case $name in mosquitto | rabbitmq | influxd | influxd-auth) ;; *) die "unknown service '$name'" ;; esac
    pid=$(running_pid "$dir" "$name") || { log "$name is not running"; return 0; }
    log "killing $name (pid $pid)"
    kill -KILL "$pid" 2>/dev/null || true
    wait_exit "$pid" 10 || die "$name (pid $pid) survived SIGKILL"
}

cmd=${1:-}
[[ -n $cmd && -n ${2:-} ]] || usage
[[ $cmd == start ]] && mkdir -p "$2"
DIR=$(readlink -m "$2")
raise_nofile

case $cmd in
    start)
        [[ $# -eq 2 ]] || usage
        ensure_packages
        # If any service fails to start, stop the ones already started.
        trap '[[ -f $DIR/env ]] || "$SCRIPT" stop "$DIR"' EXIT
        choose_ports "$DIR"
        load_ports "$DIR"
        rm -f "$DIR/env"
        for s in "${SERVICES[@]}"; do start_one "$DIR" "$s"; done
        write_env "$DIR"
        trap - EXIT
        log "all services ready; environment in $DIR/env"
        ;;
    stop)
        [[ $# -eq 2 ]] || usage
        # Never fails the caller: whatever is already gone is skipped.
        set +e
        if [[ -f $DIR/ports ]]; then
            # shellcheck disable=SC1091
            source "$DIR/ports"
            rabbit_stop "$DIR"
            stop_pid "$DIR" influxd
            stop_pid "$DIR" influxd-auth
            stop_pid "$DIR" mosquitto
            epmd_kill "$DIR"
        fi
        exit 0
        ;;
    start-one | stop-one | kill-one)
        [[ $# -eq 3 ]] || usage
        load_ports "$DIR"
        case $cmd in
            start-one) start_one "$DIR" "$3" ;;
            stop-one) stop_one "$DIR" "$3" ;;
            kill-one) kill_one "$DIR" "$3" ;;
        esac
        ;;
    *) usage ;;
esac
