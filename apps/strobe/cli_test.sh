#!/usr/bin/env bash
# Checks the `strobe` command's contract: --version, --help, exit code 2 on usage errors.
set -u
strobe=$1
fail=0
check() {  # check <description> <expected exit> <command...>
  local what=$1 want=$2; shift 2
  out=$("$@" 2>&1); got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, want $want"; echo "$out" | head -5; fail=1
  else
    echo "ok: $what"
  fi
}
check "--version exits 0" 0 "$strobe" --version
"$strobe" --version | grep -Eq '^strobe [0-9]+\.[0-9]+\.[0-9]+$' || { echo "FAIL: version format"; fail=1; }
check "--help exits 0" 0 "$strobe" --help
"$strobe" --help | grep -q 'real-time telemetry' || { echo "FAIL: help text"; fail=1; }
check "unknown flag exits 2" 2 "$strobe" --no-such-flag
"$strobe" --no-such-flag 2>&1 | grep -q 'no-such-flag' || { echo "FAIL: error names the flag"; fail=1; }
check "unknown subcommand exits 2" 2 "$strobe" no-such-command
exit $fail
