#!/usr/bin/env bash
# What a new user does first, from a fresh clone (issue 14; figures in BENCHMARKS.md):
#   1. clone the repository (argument: a path or URL; default: this script's repository) into a
#      temporary directory, with a target directory of its own there, so the build is cold;
#   2. `cargo run --release -- serve` in the background, timed until /health answers;
#   3. every example of README.md in order: each ```sh block whose lines are `curl …`,
#      `cargo run --release -- …` (not `serve`) or `echo …` is run from the clone; each must exit
#      0 (or N, where its comment says "exits N"), and when a ```json block follows, the last
#      command's output must be that JSON;
#   4. stop the server; `cargo test --release`, timed.
# Needs git, curl, python3 and port 8080 free (the README's address). Exit 0 when all passed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
repo=${1:-$here}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shequ-fresh.XXXXXX")
server=""
cleanup() {
    if [ -n "$server" ]; then
        kill -TERM -- "-$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
if curl -s -o /dev/null http://127.0.0.1:8080/health; then
    echo "port 8080 is in use; the README's examples need it" >&2
    exit 1
fi
now() { date +%s.%N; }
took() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f} s')" "$1" "$(now)"; }

git clone --quiet "$repo" "$tmp/shequ"
cd "$tmp/shequ"
export CARGO_TARGET_DIR="$tmp/target"
echo "clone: $tmp/shequ at $(git rev-parse --short HEAD); target: $CARGO_TARGET_DIR; $(nproc) cores"

start=$(now)
# Its own process group, so that stopping it stops cargo and the server.
setsid cargo run --release -- serve >"$tmp/serve.log" 2>&1 &
server=$!
until curl -s -o /dev/null http://127.0.0.1:8080/health; do
    if ! kill -0 "$server" 2>/dev/null; then
        echo "serve stopped:" >&2
        tail -20 "$tmp/serve.log" >&2
        exit 1
    fi
    sleep 1
done
echo "cargo run --release -- serve (cold build + start, until /health answers): $(took "$start")"

start=$(now)
python3 - README.md <<'EOF'
import json, re, subprocess, sys

text = open(sys.argv[1], encoding="utf-8").read()
blocks = re.findall(r"^ *```(\w*)\n(.*?)^ *```", text, re.S | re.M)
runnable = re.compile(r"^(curl |echo |cargo run --release -- (?!serve\b))")
failures = ran = 0
for i, (lang, body) in enumerate(blocks):
    if lang != "sh":
        continue
    # Logical lines: backslash continuations joined, indentation of list items removed.
    lines = re.sub(r"\\\n\s*", " ", body).splitlines()
    commands = [l.strip() for l in lines if runnable.match(l.strip())]
    if not commands:
        continue
    expected = blocks[i + 1][1] if i + 1 < len(blocks) and blocks[i + 1][0] == "json" else None
    for n, command in enumerate(commands):
        out = subprocess.run(["bash", "-c", command], capture_output=True, text=True)
        ran += 1
        problem = None
        # A comment "# exits N" on the line says which exit code the README promises.
        promised = re.search(r"#.*\bexits (\d+)", command)
        code = int(promised.group(1)) if promised else 0
        if out.returncode != code:
            problem = f"exit {out.returncode}, README: {code}: {out.stderr.strip()[-500:]}"
        elif expected is not None and n == len(commands) - 1:
            try:
                if json.loads(out.stdout) != json.loads(expected):
                    problem = f"answered {out.stdout.strip()}\n    README: {expected.strip()}"
            except json.JSONDecodeError as e:
                problem = f"not JSON ({e}): {out.stdout[:300]}"
        elif not command.startswith("echo ") and not (out.stdout.strip() or out.stderr.strip()):
            problem = "printed nothing"
        print(("ok   " if problem is None else "FAIL ") + command)
        if problem:
            failures += 1
            print("    " + problem)
print(f"{ran} README examples run, {failures} failed")
sys.exit(1 if failures or ran == 0 else 0)
EOF
echo "README examples: $(took "$start")"

kill -TERM -- "-$server"
wait "$server" 2>/dev/null || true
server=""

start=$(now)
set +e
cargo test --release >"$tmp/test.log" 2>&1
status=$?
set -e
grep -E '^test result|ignored|FAILED|panicked|^error' "$tmp/test.log" || true
echo "cargo test --release (after the release build above): $(took "$start")"
echo "target directory: $(du -sh "$CARGO_TARGET_DIR" | cut -f1)"
exit "$status"
