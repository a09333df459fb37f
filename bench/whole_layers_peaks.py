"""bench/whole_layers_peaks.py OUT: per phase of bench/whole_layers_x100.sh, the server's RSS
just before it and its peak RSS during it (samples every 0.2 s), and the peak before the first
download (start-up)."""
import sys

out = sys.argv[1]
rows = [line.split() for line in open(f"{out}/rss")]
samples = [(float(t), int(rss)) for t, hwm, rss in (r for r in rows if len(r) == 3)]
hwm = [(float(r[0]), int(r[1])) for r in rows if len(r) == 3]
phases = {}
for line in open(f"{out}/phases"):
    name, at = line.split()[:2]
    phases[name] = float(at)
for name, start in phases.items():
    if name.endswith("_end"):
        continue
    end = phases.get(name + "_end", start) + 1.0
    before = [r for t, r in samples if t < start]
    during = [r for t, r in samples if start <= t <= end]
    if before and during:
        print(f"{name:10s} RSS before {before[-1] / 1e6:.3f} GB, peak during {max(during) / 1e6:.3f} GB "
              f"(+{(max(during) - before[-1]) / 1e6:.3f} GB)")
first = phases.get("single", float("inf"))
print(f"peak RSS before the first download (start-up): {max(h for t, h in hwm if t < first) / 1e6:.3f} GB")
print(f"peak RSS of the whole run: {max(h for t, h in hwm) / 1e6:.3f} GB")
