#!/usr/bin/env bash
# Stop the single-node SLURM cluster started by scripts/slurm/start_local_slurm.sh.
#
#   scripts/slurm/stop_local_slurm.sh           stop slurmd, slurmctld, slurmdbd, mariadbd, munged
#   scripts/slurm/stop_local_slurm.sh --purge   also delete the job state, the accounting database and the logs
#
# Each daemon is stopped by the pid in its pid file (SIGTERM, then SIGKILL after 30 s); it is
# safe to run when nothing is running.
set -euo pipefail

RUN_DIR=/run/slurm
STATE_DIR=/var/lib/slurm
LOG_DIR=/var/log/slurm
DB_SOCKET=/run/mysqld/mysqld.sock

log() { echo "[stop_local_slurm] $*"; }
[ "$(id -u)" -eq 0 ] || { echo "[stop_local_slurm] ERROR: must run as root" >&2; exit 1; }

purge=0
[ "${1:-}" = "--purge" ] && purge=1

stop_pidfile() {
    local name=$1 pf=$2 pid
    [ -s "$pf" ] || return 0
    pid=$(cat "$pf")
    if kill -0 "$pid" 2>/dev/null; then
        log "stopping $name (pid $pid)"
        kill "$pid"
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name did not stop in 30 s: SIGKILL"
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pf"
}

if [ "$purge" -eq 1 ] && [ -S "$DB_SOCKET" ]; then
    mariadb --socket="$DB_SOCKET" -e "DROP DATABASE IF EXISTS slurm_acct_db" 2>/dev/null || true
fi

stop_pidfile slurmd "$RUN_DIR/slurmd.pid"
stop_pidfile slurmctld "$RUN_DIR/slurmctld.pid"
stop_pidfile slurmdbd "$RUN_DIR/slurmdbd.pid"
stop_pidfile mariadbd /run/mysqld/mysqld.pid
stop_pidfile munged /run/munge/munged.pid

if [ "$purge" -eq 1 ]; then
    log "purging $STATE_DIR/slurmctld, $STATE_DIR/slurmd and $LOG_DIR"
    rm -rf "${STATE_DIR:?}/slurmctld" "${STATE_DIR:?}/slurmd" "${LOG_DIR:?}"
fi
log "stopped"
