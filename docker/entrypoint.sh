#!/bin/sh
# Container entry point: migrate the schema, then run the bot (or any factcheck-bot command).
set -eu

case "${1:-run}" in
  healthcheck)
    if [ -n "${WEBHOOK_URL:-}" ]; then
      exec python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:${WEBHOOK_PORT:-8443}/healthz', timeout=4).status == 200 else 1)"
    fi
    exec factcheck-bot migrate >/dev/null
    ;;
  run)
    factcheck-bot migrate
    exec factcheck-bot run
    ;;
  *)
    exec factcheck-bot "$@"
    ;;
esac
