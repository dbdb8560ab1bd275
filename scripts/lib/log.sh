# shellcheck shell=bash
# Progress and failure lines for every script of the project; sourced, never run.
#
#   say MESSAGE              a line, with the seconds since the script started
#   phase TITLE COMMAND...   COMMAND as a named, timed part: its start, then its duration; a
#                            script that exits in it says which part failed (log_exit, EXIT)
#   show_log FILE            the end of a log, to go with a failure
#   die MESSAGE              "SCRIPT: MESSAGE (at FILE:LINE)" on stderr, then exit 1
#   die_with_log FILE MESSAGE  the same, with the end of FILE
#
# FILE:LINE is where the failure was reported: the line that called die, or the line that called
# one of the functions in LOG_REPORTERS (helpers such as wait_for, which fail for their caller).

LOG_STARTED=${LOG_STARTED:-$(date +%s.%N)}
LOG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOG_REPORTERS=(die die_with_log _log_location)

_elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

say() { printf '[%6ss] %s\n' "$(_elapsed "$LOG_STARTED")" "$*"; }

# The phase running now, and when it started: a script that exits inside it (set -e) names it
# from its EXIT trap (log_exit). `"$@" || ...` would turn set -e off inside a function phase runs.
LOG_PHASE=""
LOG_PHASE_STARTED=""

phase() {
  local title=$1 started
  shift
  started=$(date +%s.%N)
  say "$title ..."
  LOG_PHASE=$title LOG_PHASE_STARTED=$started
  "$@"
  LOG_PHASE=""
  say "$title: done in $(_elapsed "$started") s"
}

# For an EXIT trap, with the exit status: names the phase the script failed in, if any.
log_exit() {
  if [ "$1" -ne 0 ] && [ -n "$LOG_PHASE" ]; then
    echo "${0##*/}: $LOG_PHASE: failed (exit $1) after $(_elapsed "$LOG_PHASE_STARTED") s" >&2
  fi
}
trap 'log_exit $?' EXIT

show_log() {
  local file=$1
  if [ -s "$file" ]; then
    echo "---- last 30 lines of $file ----" >&2
    tail -n 30 "$file" >&2
    echo "----" >&2
  else
    echo "(its log $file is empty or missing)" >&2
  fi
}

# The first call site, from the innermost frame out, that is not inside a reporter.
_log_location() {
  local i reporter
  for ((i = 0; i < ${#FUNCNAME[@]} - 1; i++)); do
    for reporter in "${LOG_REPORTERS[@]}"; do
      [ "${FUNCNAME[i]}" = "$reporter" ] && continue 2
    done
    break
  done
  local file=${BASH_SOURCE[i]:-$0}
  echo "${file#"$LOG_TOP/"}:${BASH_LINENO[i - 1]}"
}

die() {
  echo "${0##*/}: $* (at $(_log_location))" >&2
  exit 1
}

die_with_log() {
  local file=$1
  shift
  echo "${0##*/}: $* (at $(_log_location))" >&2
  show_log "$file"
  exit 1
}
