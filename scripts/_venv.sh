# Shared by scripts/*: make .venv and install the project into it when pyproject.toml changed.
ensure_venv() {
  local extras="${1:-}"
  local python="${PYTHON:-python3}"
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
  fi
  # The dev extras hold everything the base install has: after scripts/test, scripts/demo starts
  # warm instead of installing the project again.
  if [ -z "$extras" ] && [ -f .venv/.installed-dev ] && [ ! pyproject.toml -nt .venv/.installed-dev ]; then
    return 0
  fi
  local spec="."
  [ -n "$extras" ] && spec=".[$extras]"
  local stamp=".venv/.installed-${extras:-base}"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
    .venv/bin/python -m pip install --quiet -e "$spec"
    touch "$stamp"
  fi
}

# Browser tests drive Debian's Chromium through playwright (never a browser download). As root on
# a Debian machine it is installed when missing; elsewhere the tests say what to install.
ensure_chromium() {
  if [ -x /usr/bin/chromium ] || [ -n "${TIANJIAN_CHROMIUM:-}" ]; then
    return 0
  fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests / 安装浏览器测试所需的 chromium" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  fi
}
