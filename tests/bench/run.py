#!/usr/bin/env python3
"""probehook benchmarks: one run, one machine, ratios.

Runs every benchmark of docs/BENCHMARKS.md in sequence against a real collector with
real BPF (root), prints a table and writes BUILD/bench/results.json.  Everything
talks to 127.0.0.1 only.  python3 stdlib only.

usage: run.py --src SRC --build BUILD [--only NAME,...] [--keep]
  names: probe, python, latency, delivery, ring, alternatives
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
RING_BYTES = 4 << 20
REPORT_RE = re.compile(
    r"records (\d+) \(probe hits (\d+), ring drops (\d+), malformed (\d+)\); "
    r"events matched (\d+), unmatched (\d+), dropped on a full queue (\d+)"
    r"(?:, cut to max_payload_bytes \d+)?; "
    r"deliveries ok (\d+), (?:failed|dead-lettered) (\d+)")
REPORT_KEYS = ("records", "hits", "ring_drops", "malformed", "matched", "unmatched",
               "queue_full", "delivered", "failed")
ALL = ("probe", "python", "latency", "delivery", "ring", "alternatives")


def log(msg):
    print(f"[{datetime.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, src, build, keep):
        self.src, self.build = src, build
        self.bin = os.path.join(build, "bench")
        self.work = tempfile.mkdtemp(prefix="probehook-bench.")
        self.keep = keep
        self.procs = []
        self.results = {}
        # Own copies: a uprobe belongs to a file, so nothing else that maps the
        # build's files (tests, demos) is probed while the benchmarks run.
        for name in ("probe_cost", "bench_fire"):
            shutil.copy2(os.path.join(self.bin, name), os.path.join(self.work, name))
        shutil.copy2(os.path.join(build, "libprobehook.so"),
                     os.path.join(self.work, "libprobehook.so"))

    def path(self, name):
        return os.path.join(self.work, name)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if self.keep:
            log(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    # ---- processes --------------------------------------------------------------------

    def spawn(self, args, name, **kw):
        out = open(self.path(name + ".out"), "w")
        err = open(self.path(name + ".log"), "w")
        p = subprocess.Popen(args, stdout=out, stderr=err, **kw)
        p.name = name
        self.procs.append(p)
        return p

    def run_json(self, args, timeout=300, env=None):
        """Runs a benchmark program; returns its last stdout line as JSON."""
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
        if r.returncode != 0:
            raise RuntimeError(f"{args[0]} exited {r.returncode}: {r.stderr.strip()[-800:]}")
        return json.loads(r.stdout.strip().splitlines()[-1])

    def wait_file(self, path, timeout=10, pattern=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(path) and os.path.getsize(path) > 0:
                if pattern is None:
                    return True
                with open(path, errors="replace") as f:
                    if pattern in f.read():
                        return True
            time.sleep(0.02)
        raise RuntimeError(f"timed out waiting for {path}" + (f" ({pattern})" if pattern else ""))

    def receiver(self, name, max_requests=0):
        """probehook-receiver on a free loopback port; returns (proc, port)."""
        port_file = self.path(name + ".port")
        args = [os.path.join(self.build, "probehook-receiver"), "--listen", "127.0.0.1:0",
                "--port-file", port_file, "--out", "/dev/null", "--quiet"]
        if max_requests:
            args += ["--max-requests", str(max_requests)]
        p = self.spawn(args, name)
        self.wait_file(port_file)
        return p, int(open(port_file).read())

    def bench_rx(self, name, max_requests=0, save=None):
        port_file = self.path(name + ".port")
        args = [os.path.join(self.bin, "bench_rx"), "--port-file", port_file]
        if max_requests:
            args += ["--max-requests", str(max_requests)]
        if save:
            args += ["--save-request", save]
        p = self.spawn(args, name)
        self.wait_file(port_file)
        return p, int(open(port_file).read())

    def config(self, name, targets, port, agents=("*",), ring_bytes=RING_BYTES):
        cfg = {
            "targets": [{"path": t} for t in targets],
            "endpoints": [{"id": "bench", "url": f"http://127.0.0.1:{port}/hooks",
                           "secret": SECRET, "allow_private_networks": True,
                           "agents": list(agents)}],
            "default_agent": {"webhook_enabled": True},
            "ring_buffer_bytes": ring_bytes,
        }
        path = self.path(name + ".json")
        with open(path, "w") as f:
            json.dump(cfg, f, indent=1)
        return path

    def collector(self, name, config):
        log_path = self.path(name + ".log")
        # its own spool and control socket: nothing shared with a collector already running
        p = self.spawn([os.path.join(self.build, "probehookd"), "--config", config,
                        "--spool-dir", self.path(name + ".spool"),
                        "--control-socket", self.path(name + ".sock")], name)
        try:
            self.wait_file(log_path, 20, "running:")
        except RuntimeError:
            raise RuntimeError("collector did not start: " + open(log_path).read()[-800:])
        return p

    def stop_collector(self, p, timeout=30):
        p.send_signal(signal.SIGTERM)
        p.wait(timeout)
        text = open(self.path(p.name + ".log"), errors="replace").read()
        m = REPORT_RE.search(text)
        if not m:
            raise RuntimeError("no report line from the collector: " + text[-800:])
        return dict(zip(REPORT_KEYS, map(int, m.groups())))

    @staticmethod
    def stop(p, sig=signal.SIGTERM, timeout=10):
        if p.poll() is None:
            p.send_signal(sig)
        p.wait(timeout)

    def rx_result(self, p, timeout=60):
        p.wait(timeout)
        with open(self.path(p.name + ".out")) as f:
            return json.loads(f.read().strip().splitlines()[-1])


# ---- /proc footprint --------------------------------------------------------------------

def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def memory_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(line.split()[1])
    return out


class CpuMeter:
    def __init__(self, pid):
        self.pid, self.c0, self.t0 = pid, cpu_seconds(pid), time.monotonic()

    def read(self):
        return {"cpu_pct": 100.0 * (cpu_seconds(self.pid) - self.c0) / (time.monotonic() - self.t0),
                "interval_s": time.monotonic() - self.t0, **memory_kib(self.pid)}


# ---- benchmarks ------------------------------------------------------------------------

def site_ns(res, site, base="empty", key="median_ns"):
    return res["sites"][site][key] - res["sites"][base][key]


def bench_probe(b):
    """1. Probe cost: no probe / not attached / attached and recording."""
    pc, lib = b.path("probe_cost"), b.path("libprobehook.so")
    sites = "empty,macro,small,guarded,lib"
    log("probe cost, not attached (200M hits per site and rep)")
    off = b.run_json([pc, "--sites", sites, "--lib", lib, "--iters", "200000000", "--reps", "7"])

    # Attached: the endpoint exists but matches no agent of the bench, so every hit is
    # recorded into the ring and consumed (decoded, built, matched) by the collector
    # without filling its delivery queue.
    rx, port = b.receiver("probe-rx")
    cfg = b.config("probe", [pc, lib], port, agents=["bench-matches-no-agent"])
    col = b.collector("probe-collector", cfg)
    # Batches of 1000 hits with 8 ms pauses: the collector (~4 µs a record) drains
    # each batch before the next, so hits are recorded, not dropped on a full ring.
    log("probe cost, attached and recording (50k hits per site and rep, batches of 1000)")
    on = b.run_json([pc, "--sites", sites, "--lib", lib, "--iters", "50000", "--reps", "5",
                     "--batch", "1000", "--pause-us", "8000", "--wait-enabled", "10"])
    report = b.stop_collector(col)
    b.stop(rx)
    if not (on["enabled"]["macro"] and on["enabled"]["lib"]):
        raise RuntimeError("probe_cost ran with the probes off: " + json.dumps(on))
    b.results["probe_cost"] = {
        "not_attached": off, "attached": on, "attached_collector": report,
        "ns_per_hit": {
            "no_probe_loop": off["sites"]["empty"]["median_ns"],
            "macro_not_attached": site_ns(off, "macro"),
            "guarded_not_attached": site_ns(off, "guarded"),
            "lib_not_attached": site_ns(off, "lib"),
            "small_not_attached": site_ns(off, "small"),
            "macro_attached": site_ns(on, "macro"),
            "small_attached": site_ns(on, "small"),
            "guarded_attached": site_ns(on, "guarded"),
            "lib_attached": site_ns(on, "lib"),
        },
    }


def bench_python(b):
    """1b. Probe cost through the Python binding, off and attached."""
    pydir = os.path.join(b.src, "probes", "python")
    if not os.path.isdir(os.path.join(pydir, "probehook")):
        b.results["python"] = {"skipped": "probes/python/probehook is not in this tree"}
        return
    lib = b.path("libprobehook.so")
    env = dict(os.environ, PROBEHOOK_LIB=lib)
    script = os.path.join(b.src, "tests", "bench", "py_probe_cost.py")
    log("python binding, not attached")
    off = b.run_json([sys.executable, script, pydir, "--iters", "1000000", "--reps", "5"], env=env)
    rx, port = b.receiver("py-rx")
    col = b.collector("py-collector", b.config("py", [lib], port, agents=["bench-matches-no-agent"]))
    log("python binding, attached and recording")
    on = b.run_json([sys.executable, script, pydir, "--iters", "50000", "--reps", "5",
                     "--batch", "1000", "--pause-us", "4000", "--wait-enabled", "10"], env=env)
    report = b.stop_collector(col)
    b.stop(rx)
    b.results["python"] = {
        "python": platform.python_version(), "not_attached": off, "attached": on,
        "attached_collector": report,
        "ns_per_call": {
            "empty_loop": off["sites"]["empty"]["median_ns"],
            "noop_function": site_ns(off, "noop"),
            "binding_not_attached": site_ns(off, "binding"),
            "binding_attached": site_ns(on, "binding"),
        },
    }


def bench_latency(b):
    """4 + 5. Latency probe -> receiver and collector footprint, idle, 1k/s and 10k/s."""
    fire = b.path("bench_fire")
    out = {"latency": {}, "footprint": {}}
    for rate, seconds in ((1000, 5), (10000, 5)):
        count = rate * seconds
        save = b.path("request.http") if rate == 1000 else None
        rx, port = b.bench_rx(f"lat-rx-{rate}", max_requests=count, save=save)
        col = b.collector(f"lat-collector-{rate}", b.config(f"lat-{rate}", [fire], port))
        if rate == 1000:
            time.sleep(0.5)  # let start-up settle
            meter = CpuMeter(col.pid)
            log("collector idle (3 s)")
            time.sleep(3)
            out["footprint"]["idle"] = meter.read()
        log(f"latency and footprint at {rate} events/s ({count} events)")
        meter = CpuMeter(col.pid)
        sent = b.run_json([fire, "--count", str(count), "--rate", str(rate),
                           "--wait-enabled", "10"])
        lat = b.rx_result(rx, timeout=60)
        out["footprint"][f"{rate}_per_s"] = meter.read()
        report = b.stop_collector(col)
        out["latency"][f"{rate}_per_s"] = {"sent": sent, "receiver": lat, "collector": report}
    b.results.update(out)


def bench_delivery(b):
    """3. Signed webhooks/s from the ring to probehook-receiver vs a bare libcurl multi loop."""
    fire = b.path("bench_fire")
    request = b.path("request.http")
    if not os.path.exists(request):  # captured by the latency benchmark; else capture one
        rx, port = b.bench_rx("capture-rx", max_requests=1, save=request)
        col = b.collector("capture-collector", b.config("capture", [fire], port))
        b.run_json([fire, "--count", "1", "--wait-enabled", "10"])
        b.rx_result(rx)
        b.stop_collector(col)
    count = 30000
    runs = {"probehookd": [], "curl_multi": []}
    for rep in range(2):
        rx, port = b.receiver(f"curl-rx-{rep}", max_requests=count)
        log(f"bare libcurl multi, 64 connections, {count} posts (rep {rep + 1})")
        res = b.run_json([os.path.join(b.bin, "curl_multi_bench"), "--url",
                          f"http://127.0.0.1:{port}/hooks", "--request", request,
                          "--count", str(count), "--conns", "64"])
        b.stop(rx)
        runs["curl_multi"].append(res)

        rx, port = b.receiver(f"deliver-rx-{rep}", max_requests=count)
        # A 64 MiB ring takes the whole burst: this measures delivery, not the ring.
        cfg = b.config(f"deliver-{rep}", [fire], port, ring_bytes=64 << 20)
        col = b.collector(f"deliver-collector-{rep}", cfg)
        log(f"probehookd delivery, {count} events fired at once (rep {rep + 1})")
        sent = b.run_json([fire, "--count", str(count), "--wait-enabled", "10"])
        try:
            rx.wait(90)
            complete = True
        except subprocess.TimeoutExpired:
            complete = False
        t_end = time.time_ns()
        report = b.stop_collector(col)
        b.stop(rx)
        elapsed = (t_end - sent["start_wall_ns"]) / 1e9
        delivered = count if complete else report["delivered"]
        runs["probehookd"].append({"sent": sent, "collector": report, "elapsed_s": elapsed,
                                   "complete": complete, "rate": delivered / elapsed})
    best_pd = max(r["rate"] for r in runs["probehookd"])
    best_curl = max(r["rate"] for r in runs["curl_multi"])
    b.results["delivery"] = {"runs": runs, "probehookd_per_s": best_pd,
                             "curl_multi_per_s": best_curl, "ratio": best_pd / best_curl,
                             "body_bytes": body_size(request)}


def body_size(request):
    with open(request, "rb") as f:
        raw = f.read()
    return len(raw) - raw.index(b"\r\n\r\n") - 4


def bench_ring(b):
    """2. Ring throughput with zero drops, 1 and 2 producer threads, 4 MiB ring.

    Two consumers: probehookd itself (every record decoded, built into the event JSON
    and matched; the endpoint matches no agent, so nothing is delivered), and
    ring_reader, the same BPF program with a reader that only counts (the transport)."""
    fire = b.path("bench_fire")
    rx, port = b.receiver("ring-rx")
    cfg = b.config("ring", [fire], port, agents=["bench-matches-no-agent"])
    steps = (100000, 200000, 300000, 400000, 600000, 0)
    out = {}

    def start_collector(tag):
        return b.collector(f"ring-collector-{tag}", cfg)

    def start_reader(tag):
        p = b.spawn([os.path.join(b.bin, "ring_reader"), "--target", fire,
                     "--ring-bytes", str(RING_BYTES)], f"ring-reader-{tag}")
        b.wait_file(b.path(f"ring-reader-{tag}.log"), 20, "attached")
        return p

    def stop_reader(p):
        b.stop(p, signal.SIGINT, 30)
        with open(b.path(p.name + ".out")) as f:
            return json.loads(f.read().strip().splitlines()[-1])

    consumers = (("ring_reader", start_reader, stop_reader),
                 ("probehookd", start_collector, b.stop_collector))
    for cname, start, stop in consumers:
        for threads in (1, 2):
            rows = []
            for rate in steps:
                count = rate * 2 if rate else 1500000  # about 2 s per step
                tag = f"{threads}-{rate}"
                p = start(tag)
                log(f"ring via {cname}: {threads} thread(s), {rate or 'max'} events/s target")
                sent = b.run_json([fire, "--count", str(count), "--rate", str(rate),
                                   "--threads", str(threads), "--wait-enabled", "10"])
                time.sleep(0.3)  # the consumer drains what is left in the ring
                report = stop(p)
                rows.append({"rate_target": rate, "sent": sent["sent"], "rate": sent["rate"],
                             "consumer": report,
                             "accounted": report["hits"] == sent["sent"] and
                             report["records"] + report["ring_drops"] == sent["sent"]})
                if len(rows) >= 2 and all(r["consumer"]["ring_drops"] > r["sent"] // 10
                                          for r in rows[-2:]):
                    break  # well past the knee: more steps only add drops
            # the fastest step that, like every slower step, lost nothing
            best = 0
            for r in rows:
                if r["consumer"]["ring_drops"]:
                    break
                best = max(best, r["rate"])
            out.setdefault(cname, {})[f"{threads}_thread"] = {
                "steps": rows, "max_zero_drop_per_s": best}
    b.stop(rx)
    b.results["ring"] = out


def bench_alternatives(b):
    """6. Per-event cost in the probed process: in-process POST (C, Python), bpftrace."""
    out = {}
    rx, port = b.receiver("alt-rx")
    url = f"http://127.0.0.1:{port}/hooks"
    log("in-process POST per event, C libcurl easy keep-alive (3000 events)")
    out["inproc_c"] = b.run_json([os.path.join(b.bin, "inproc_post"), "--url", url,
                                  "--count", "3000"])
    log("in-process POST per event, Python urllib (1000 events)")
    out["inproc_python"] = b.run_json([sys.executable, os.path.join(b.src, "tests", "bench",
                                                                    "inproc_post.py"), url, "1000"])
    b.stop(rx)
    bt = shutil.which("bpftrace")
    if not bt:
        out["bpftrace"] = {"skipped": "bpftrace not installed (apt-get install -y bpftrace)"}
    else:
        pc = b.path("probe_cost")
        probe = f"usdt:{pc}:probehook:agent__step__completed"
        scripts = {
            # the same arguments, as text: what a bpftrace one-liner piped onwards costs
            "printf": probe + (' { printf("%s %s %s %s %s\\n", str(arg0), str(arg1), '
                               'str(arg2), str(arg3), str(arg4)); }'),
            # nothing but the trap and an in-kernel counter: the floor of any uprobe
            "count": probe + " { @hits = count(); }",
        }
        version = subprocess.run([bt, "--version"], capture_output=True, text=True).stdout.strip()
        for name, script in scripts.items():
            txt = b.path(f"bpftrace-{name}.out")  # its stdout: "Attaching...", then output
            # default BPFTRACE_STRLEN (64): five longer strings overflow bpftrace's
            # 512-byte BPF stack; the 68-byte usage argument is cut to 63 bytes
            p = b.spawn([bt, "-e", script], f"bpftrace-{name}")
            log(f"bpftrace {name} attached to the same probe")
            b.wait_file(txt, 60, "Attaching")
            time.sleep(0.5)
            res = b.run_json([pc, "--sites", "empty,macro", "--iters", "50000", "--reps", "5",
                              "--batch", "1000", "--pause-us", "4000"])
            b.stop(p, signal.SIGINT, 30)
            with open(txt, errors="replace") as f:
                text = f.read()
            out[f"bpftrace_{name}"] = {
                "version": version, "script": script, "probe_cost": res,
                "ns_per_hit": site_ns(res, "macro"),
                "lines_printed": text.count("agent-7c1d2e44"),
                "lost_events": sum(int(n) for n in re.findall(r"Lost (\d+) events", text))}
    b.results["alternatives"] = out


# ---- report ----------------------------------------------------------------------------

def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"kernel": platform.release(), "cpu": model, "cores": os.cpu_count(),
            "os": platform.freedesktop_os_release().get("PRETTY_NAME", "?")
            if hasattr(platform, "freedesktop_os_release") else "?"}


def fmt_ns(v):
    return f"{v:.2f} ns" if v < 100 else f"{v:,.0f} ns"


def targets(r):
    """(target, figure, met) for each target the results cover."""
    t = []
    pc = r.get("probe_cost", {}).get("ns_per_hit")
    if pc:
        worst = max(pc["macro_not_attached"], pc["guarded_not_attached"],
                    pc["small_not_attached"])
        t.append(("not attached within 1 ns of no probe", f"{worst:+.2f} ns (worst site)",
                  worst <= 1.0))
        t.append(("attached and recording <= 1 us/hit", f"{pc['macro_attached']:.0f} ns (macro)",
                  pc["macro_attached"] <= 1000))
    ring = r.get("ring")
    if ring:
        for cname, what in (("ring_reader", "the ring (counting reader)"),
                            ("probehookd", "into probehookd")):
            if cname in ring:
                v = max(x["max_zero_drop_per_s"] for x in ring[cname].values())
                t.append((f">= 300,000 events/s, zero drops: {what}", f"{v:,.0f}/s", v >= 300000))
    d = r.get("delivery")
    if d:
        t.append((">= 35,000 signed webhooks/s", f"{d['probehookd_per_s']:,.0f}/s",
                  d["probehookd_per_s"] >= 35000))
        t.append((">= 60% of bare libcurl multi", f"{100 * d['ratio']:.0f}%", d["ratio"] >= 0.6))
    lat = r.get("latency", {}).get("1000_per_s")
    if lat and "latency_us" in lat["receiver"]:
        p50 = lat["receiver"]["latency_us"]["p50"]
        t.append(("p50 probe->receiver <= 1 ms at 1,000/s", f"{p50 / 1000:.3f} ms", p50 <= 1000))
    fp = r.get("footprint", {}).get("1000_per_s")
    if fp:
        t.append(("collector RSS <= 20 MB at 1,000/s",
                  f"{fp['VmRSS'] * 1.024:,.0f} kB (peak since start {fp['VmHWM'] * 1.024:,.0f} kB)",
                  fp["VmRSS"] * 1024 <= 20 * 1000 * 1000))
        t.append(("collector CPU <= 10% at 1,000/s", f"{fp['cpu_pct']:.1f}%", fp["cpu_pct"] <= 10))
    return t


def table(r):
    lines = []

    def row(name, value):
        lines.append(f"  {name:<58} {value}")

    m = r["machine"]
    lines.append(f"probehook benchmarks  {r['date']}  {m['cpu']}, {m['cores']} cores, "
                 f"kernel {m['kernel']}")
    pc = r.get("probe_cost")
    if pc:
        n = pc["ns_per_hit"]
        lines.append("1. probe cost in the probed process (median of reps, per hit, minus the loop)")
        row("no probe (empty loop iteration)", fmt_ns(n["no_probe_loop"]))
        row("macro, not attached", f"{n['macro_not_attached']:+.2f} ns")
        row("_ENABLED()-guarded site, not attached", f"{n['guarded_not_attached']:+.2f} ns")
        row("libprobehook.so call, not attached", f"{n['lib_not_attached']:+.2f} ns")
        row("small (2 strings), not attached", f"{n['small_not_attached']:+.2f} ns")
        row("macro, attached and recording", fmt_ns(n["macro_attached"]))
        row("small (2 strings), attached and recording", fmt_ns(n["small_attached"]))
        row("guarded site (formats usage JSON), attached", fmt_ns(n["guarded_attached"]))
        row("libprobehook.so call, attached", fmt_ns(n["lib_attached"]))
        c = pc["attached_collector"]
        row("  records / ring drops while attached", f"{c['records']:,} / {c['ring_drops']:,}")
    py = r.get("python")
    if py:
        if "skipped" in py:
            row("python binding", "skipped: " + py["skipped"])
        else:
            n = py["ns_per_call"]
            row(f"python {py['python']}: no-op function call", fmt_ns(n["noop_function"]))
            row("python binding, not attached", fmt_ns(n["binding_not_attached"]))
            row("python binding, attached (json.dumps + ctypes + probe)",
                fmt_ns(n["binding_attached"]))
    ring = r.get("ring")
    if ring:
        lines.append("2. ring buffer throughput, 4 MiB ring (events/s fired; received; drops)")
        for cname, per in ring.items():
            for th, v in per.items():
                row(f"{cname}, {th.replace('_', ' ')}: max rate with zero drops",
                    f"{v['max_zero_drop_per_s']:,.0f} events/s")
                for st in v["steps"]:
                    c = st["consumer"]
                    tgt = f"{st['rate_target']:,}/s" if st["rate_target"] else "max"
                    row(f"    target {tgt}: fired {st['rate']:,.0f}/s",
                        f"sent {st['sent']:,} recv {c['records']:,} drops {c['ring_drops']:,}"
                        f" {'(= sent - recv)' if st['accounted'] else 'MISMATCH'}")
    d = r.get("delivery")
    if d:
        lines.append("3. delivery throughput (loopback, probehook-receiver)")
        row("probehookd: ring -> signed webhook -> receiver", f"{d['probehookd_per_s']:,.0f}/s")
        row("bare libcurl multi, 64 connections, same bodies", f"{d['curl_multi_per_s']:,.0f}/s")
        row("ratio", f"{100 * d['ratio']:.0f}%")
    lat = r.get("latency")
    if lat:
        lines.append("4. end-to-end latency probe -> receiver (µs)")
        for k, v in lat.items():
            l = v["receiver"].get("latency_us", {})
            row(f"at {k.replace('_per_s', '')} events/s ({v['receiver']['requests']:,} received)",
                f"p50 {l.get('p50')}  p99 {l.get('p99')}  max {l.get('max')}")
    fp = r.get("footprint")
    if fp:
        lines.append("5. collector footprint")
        for k, v in fp.items():
            row(k.replace("_per_s", " events/s"),
                f"CPU {v['cpu_pct']:.1f}%  RSS {v['VmRSS'] / 1024:.1f} MiB  "
                f"peak {v['VmHWM'] / 1024:.1f} MiB")
    alt = r.get("alternatives")
    if alt:
        lines.append("6. per-event cost in the probed process, alternatives")
        if pc:
            row("probehook probe, attached (from 1.)", fmt_ns(pc["ns_per_hit"]["macro_attached"]))
        row("in-process POST, C libcurl easy keep-alive", fmt_ns(alt["inproc_c"]["ns_per_event"]))
        row("in-process POST, Python urllib", fmt_ns(alt["inproc_python"]["ns_per_event"]))
        if "bpftrace" in alt:
            row("bpftrace", "skipped: " + alt["bpftrace"]["skipped"])
        for name, what in (("printf", "printf of the 5 arguments"), ("count", "count() only")):
            bt = alt.get(f"bpftrace_{name}")
            if bt:
                row(f"{bt['version']}, {what}", fmt_ns(bt["ns_per_hit"]) +
                    (f" ({bt['lost_events']:,} lost)" if bt["lost_events"] else ""))
    lines.append("targets")
    for name, fig, met in targets(r):
        row(name, f"{'MET   ' if met else 'MISSED'} {fig}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--only", default=",".join(ALL))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench: needs root (real BPF)", file=sys.stderr)
        return 77
    src, build = os.path.abspath(args.src), os.path.abspath(args.build)
    only = [x for x in args.only.split(",") if x]
    unknown = set(only) - set(ALL)
    if unknown:
        ap.error(f"unknown benchmark(s) {sorted(unknown)}; known: {', '.join(ALL)}")
    b = Bench(src, build, args.keep)
    t0 = time.monotonic()
    b.results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                 "machine": machine(), "command": " ".join(sys.argv)}
    status = 0
    try:
        for name in ALL:
            if name in only:
                globals()["bench_" + name](b)
    except Exception as exc:  # report what ran, and why the rest did not
        b.results["error"] = f"{type(exc).__name__}: {exc}"
        log("FAILED: " + b.results["error"])
        status = 1
    finally:
        b.cleanup()
    b.results["duration_s"] = round(time.monotonic() - t0, 1)
    b.results["targets"] = [{"target": n, "figure": f, "met": m} for n, f, m in targets(b.results)]
    out_dir = os.path.join(build, "bench")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(b.results, f, indent=1)
    text = table(b.results)
    with open(os.path.join(out_dir, "results.txt"), "w") as f:
        f.write(text + "\n")
    print(text)
    print(f"({b.results['duration_s']} s; results in {out_dir}/results.json)")
    return status


if __name__ == "__main__":
    sys.exit(main())
