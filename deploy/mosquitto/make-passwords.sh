#!/usr/bin/env bash
# Generates deploy/mosquitto/passwords (hashed, for the broker) and credentials.csv (plain
# text, to provision the devices and the .env; keep it out of the repository and away from
# the broker host once used) with a random password per user.
#
#   deploy/mosquitto/make-passwords.sh [USER ...]
#
# Default users: JY-001 ... JY-055, the registry's vehicles (REC-01 ...), one per ingestion replica (telemetry-ingest-1 and -2, as in
# the ACL; the broker makes each username its client id, so replicas never share one), and
# telemetry-monitor. Needs mosquitto_passwd (Debian: mosquitto; or:
# docker run --rm -v "$PWD:/w" eclipse-mosquitto:2 mosquitto_passwd ...).
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
users=("$@")
if [[ ${#users[@]} -eq 0 ]]; then
    for i in $(seq 1 55); do users+=("$(printf 'JY-%03d' "$i")"); done
    # The trucks of the shipped registry (REC-01 ...), for telematics units that connect themselves.
    registry=../../src/Telemetry.Fleet/Registry/jiyang.json
    if [[ -f $registry ]]; then
        while read -r v; do users+=("$v"); done < <(sed -n '/"vehicles"/,$p' "$registry" | grep -o '"id": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/')
    fi
    users+=(telemetry-ingest-1 telemetry-ingest-2 telemetry-monitor)
fi
umask 077
: > passwords.new
echo "username,password" > credentials.csv
for u in "${users[@]}"; do
    p="$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
    mosquitto_passwd -b passwords.new "$u" "$p"
    echo "$u,$p" >> credentials.csv
done
mv passwords.new passwords
echo "wrote $(pwd)/passwords (${#users[@]} users) and $(pwd)/credentials.csv"
echo "the eclipse-mosquitto image runs as uid 1883: chown 1883:1883 passwords"
