#!/usr/bin/env bash
# Bring up a real single-node SLURM cluster on this Debian machine, from Debian's packages.
#
#   sudo scripts/slurm/start_local_slurm.sh      (we are root here; no systemd needed)
#
# What it does (idempotent: run it again and it only starts what is not running):
#   1. apt-get install slurm-wlm munge slurmdbd mariadb-server   (only if missing)
#   2. writes /etc/slurm/slurm.conf and /etc/slurm/slurmdbd.conf for this host
#      (CPUs from nproc, RealMemory from free -m minus a reserve, GPUs from /dev/nvidia[0-9]*)
#   3. starts munged, mariadbd (socket only, small buffers), slurmdbd, slurmctld, slurmd
#      directly as daemons (no systemd), registers the cluster in the accounting database
#   4. waits until `sinfo` shows the node idle
# Accounting (slurmdbd + MariaDB) is there because snakemake-executor-plugin-slurm queries
# job states with `sacct` and guesses the account from it.
# Stop everything with scripts/slurm/stop_local_slurm.sh. Logs: /var/log/slurm/.
set -euo pipefail

CLUSTER=${SLURM_CLUSTER_NAME:-attrpriors}
PARTITION=${SLURM_PARTITION_NAME:-main}
MEM_RESERVE_MB=${SLURM_MEM_RESERVE_MB:-512}  # memory kept back for the OS and the daemons
WAIT_S=${SLURM_START_TIMEOUT:-120}

CONF_DIR=/etc/slurm
LOG_DIR=/var/log/slurm
STATE_DIR=/var/lib/slurm
RUN_DIR=/run/slurm
DB_SOCKET=/run/mysqld/mysqld.sock
DB_PID=/run/mysqld/mysqld.pid

log() { echo "[start_local_slurm] $*"; }
die() { echo "[start_local_slurm] ERROR: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (daemons, /etc/slurm, apt-get)"

# pidfile_alive FILE: the daemon whose pid is in FILE is running
pidfile_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_for SECONDS DESCRIPTION CMD...: poll CMD once a second until it succeeds
wait_for() {
    local timeout=$1 what=$2
    shift 2
    for _ in $(seq "$timeout"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    die "timed out after ${timeout}s waiting for $what (see $LOG_DIR/)"
}

# ---------------------------------------------------------------- 1. packages
need=()
command -v slurmctld >/dev/null || need+=(slurm-wlm)
command -v munged >/dev/null || need+=(munge)
command -v slurmdbd >/dev/null || need+=(slurmdbd)
command -v mariadbd >/dev/null || need+=(mariadb-server)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    # keep the packages' maintainer scripts from starting services (we start them below)
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
    if [ "$made_policy" -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

# ---------------------------------------------------------------- 2. configuration
HOST=$(hostname -s)
NCPU=$(nproc)
MEM_TOTAL_MB=$(free -m | awk '/^Mem:/ {print $2}')
REAL_MEM_MB=$((MEM_TOTAL_MB - MEM_RESERVE_MB))
mapfile -t GPU_DEVS < <(ls /dev/nvidia[0-9]* 2>/dev/null | sort -V || true)
NGPU=${#GPU_DEVS[@]}

mkdir -p "$CONF_DIR" "$LOG_DIR" "$STATE_DIR/slurmctld" "$STATE_DIR/slurmd" "$RUN_DIR" /run/munge /run/mysqld
chown slurm:slurm "$LOG_DIR" "$STATE_DIR/slurmctld" "$RUN_DIR"
chown munge:munge /run/munge
chown mysql:mysql /run/mysqld
chmod 0755 "$RUN_DIR" "$LOG_DIR"

node_gres=""
gres_lines=""
if [ "$NGPU" -gt 0 ]; then
    node_gres=" Gres=gpu:$NGPU"
    gres_lines=$'GresTypes=gpu\nAccountingStorageTRES=gres/gpu'
fi

new_conf=$(mktemp)
cat >"$new_conf" <<EOF
# Written by scripts/slurm/start_local_slurm.sh: a single-node cluster on $HOST.
ClusterName=$CLUSTER
SlurmctldHost=$HOST
AuthType=auth/munge
CredType=cred/munge
SlurmUser=slurm
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE_DIR/slurmctld
SlurmdSpoolDir=$STATE_DIR/slurmd
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups without systemd: plain process tracking; CPU binding by sched_setaffinity
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
# finished jobs stay visible to squeue for 5 minutes (the plugin prefers sacct anyway)
MinJobAge=300
InactiveLimit=0
KillWait=30
Waittime=0
SlurmctldTimeout=120
SlurmdTimeout=300
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
JobCompType=jobcomp/none
MailProg=/bin/true
$gres_lines
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$REAL_MEM_MB$node_gres State=UNKNOWN
PartitionName=$PARTITION Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

changed=0
if ! cmp -s "$new_conf" "$CONF_DIR/slurm.conf"; then
    install -m 0644 "$new_conf" "$CONF_DIR/slurm.conf"
    changed=1
    log "wrote $CONF_DIR/slurm.conf (CPUs=$NCPU RealMemory=${REAL_MEM_MB}MB GPUs=$NGPU)"
fi
rm -f "$new_conf"

if [ "$NGPU" -gt 0 ]; then
    {
        echo "# Written by scripts/slurm/start_local_slurm.sh"
        for dev in "${GPU_DEVS[@]}"; do echo "NodeName=$HOST Name=gpu File=$dev"; done
    } >"$CONF_DIR/gres.conf"
else
    rm -f "$CONF_DIR/gres.conf"
fi

new_dbd=$(mktemp)
cat >"$new_dbd" <<EOF
# Written by scripts/slurm/start_local_slurm.sh: accounting in the local MariaDB,
# over its unix socket as the OS user slurm (unix_socket authentication, no password).
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=slurm
PidFile=$RUN_DIR/slurmdbd.pid
LogFile=$LOG_DIR/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=3306
StorageUser=slurm
StorageLoc=slurm_acct_db
EOF
if ! cmp -s "$new_dbd" "$CONF_DIR/slurmdbd.conf"; then
    install -m 0600 -o slurm -g slurm "$new_dbd" "$CONF_DIR/slurmdbd.conf"
    changed=1
fi
rm -f "$new_dbd"

# a changed configuration restarts the SLURM daemons that are already running
if [ "$changed" -eq 1 ]; then
    for pf in "$RUN_DIR/slurmd.pid" "$RUN_DIR/slurmctld.pid" "$RUN_DIR/slurmdbd.pid"; do
        if pidfile_alive "$pf"; then
            log "configuration changed: stopping $(basename "$pf" .pid) to restart it"
            pid=$(cat "$pf")
            kill "$pid"
            for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        fi
    done
fi

# ---------------------------------------------------------------- 3. daemons
# munge: the authentication of every SLURM message
if [ ! -s /etc/munge/munge.key ]; then
    log "creating the munge key"
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
fi
if ! pidfile_alive /run/munge/munged.pid; then
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged --num-threads=2
fi
wait_for 30 "munge" sh -c 'munge -n | unmunge'

# MariaDB for slurmdbd: no TCP listener, small buffers (this machine is shared)
if ! pidfile_alive "$DB_PID"; then
    log "starting mariadbd"
    setsid nohup /usr/sbin/mariadbd --user=mysql --skip-networking \
        --socket="$DB_SOCKET" --pid-file="$DB_PID" \
        --innodb-buffer-pool-size=32M --performance-schema=OFF --skip-name-resolve \
        --log-error="$LOG_DIR/mariadb.log" </dev/null >>"$LOG_DIR/mariadb.log" 2>&1 &
fi
wait_for 60 "mariadbd" mariadb-admin --socket="$DB_SOCKET" ping
mariadb --socket="$DB_SOCKET" <<'EOF'
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED VIA unix_socket;
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF

if ! pidfile_alive "$RUN_DIR/slurmdbd.pid"; then
    log "starting slurmdbd"
    /usr/sbin/slurmdbd
fi
wait_for 60 "slurmdbd" sacctmgr -n list cluster
if [ -z "$(sacctmgr -n -P list cluster "$CLUSTER" format=cluster)" ]; then
    log "registering cluster $CLUSTER in the accounting database"
    sacctmgr -i add cluster "$CLUSTER" >/dev/null
fi

if ! pidfile_alive "$RUN_DIR/slurmctld.pid"; then
    log "starting slurmctld"
    /usr/sbin/slurmctld
fi
wait_for 60 "slurmctld" scontrol ping

if ! pidfile_alive "$RUN_DIR/slurmd.pid"; then
    log "starting slurmd"
    /usr/sbin/slurmd
fi

# ---------------------------------------------------------------- 4. node idle
node_state() { sinfo -h -N -n "$HOST" -o '%T' 2>/dev/null | head -n1; }
for i in $(seq "$WAIT_S"); do
    state=$(node_state)
    case "$state" in
        idle | mixed | allocated) break ;;
        down* | drain* | fail*)
            # e.g. left down by an earlier stop: hand it back to the scheduler
            scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    [ "$i" -eq "$WAIT_S" ] && die "node $HOST is '$state' after ${WAIT_S}s (see $LOG_DIR/slurmd.log, slurmctld.log)"
    sleep 1
done
log "up: cluster $CLUSTER, partition $PARTITION, node $HOST is $(node_state)"
sinfo
