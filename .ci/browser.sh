#!/usr/bin/env bash
# A real headless browser for the end-to-end tests of upslife.web (tests/web/test_browser.py):
# Debian's chromium and chromium-driver, driven by Selenium. Browsers cannot be downloaded
# at test time, so they come from the distribution, like the other servers here.
#
#   source .ci/browser.sh
#   browser_install   # apt-get installs chromium and chromium-driver, only if missing
#
# This file is meant to be sourced; it sets no shell options.

browser_install() {
  if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    return 0
  fi
  echo "installing chromium and chromium-driver"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
}
