"""probehook for Python: fire probehook's USDT probes, which a collector turns into webhooks.

One function per event type of the catalog (include/probehook/catalog.h), named after
the type with dots as underscores, taking the payload fields in catalog order:

    import probehook
    probehook.agent_tool_attached(agent_id, tool.id, tool.name)
    probehook.agent_step_completed(agent_id, step_id, usage=usage_stats, tool_calls=calls)

Why it is cheap: each call first tests the probe's semaphore, a 16-bit counter in
libprobehook.so that the kernel raises while a collector (probehookd) has the probe
attached.  While it is zero the function returns at once: no JSON is built, no string
is encoded, no C function is called.  Dicts, lists and pydantic-like objects (anything
with model_dump()) are serialised only when the probe is on.

Why it is safe: no function raises into the caller.  A failure inside (an object
json cannot handle, a bad timestamp) is counted (errors()) and reported once with
warnings.warn; the event is dropped.  When libprobehook.so cannot be loaded every
function is a no-op, one warning is given, and available() is False.

asyncio: the calls are synchronous and take microseconds (nanoseconds when off): call
them directly from coroutines, no await, no executor, no create_task.

The library is found at import time: $PROBEHOOK_LIB if set (and then only there: the
collector targets one file), else <repo>/build/libprobehook.so next to this source tree,
else the system's libprobehook.  The collector must target the same file the process
loaded.

Every event function returns True when its probe was on and fired, else False.
"""
import ctypes
import ctypes.util
import datetime
import json
import os
import pathlib
import struct
import warnings

__all__ = [
    "EVENT_TYPES", "CATALOG", "enabled", "available", "errors", "info",
    "agent_step_completed", "agent_step_failed", "agent_tool_attached", "agent_tool_detached",
    "agent_message_sent", "tool_execution_completed", "agent_run_completed",
    "agent_job_completed",
]

# The catalog as in include/probehook/catalog.h (tests/catalog_check.py compares them):
# (event type, ((argument kind, payload field), ...)), indexed by probe id.
CATALOG = (
    ("agent.step.completed",
     (("TEXT", "agent_id"), ("TEXT", "step_id"), ("TEXT", "status"), ("JSON", "usage"),
      ("JSON", "tool_calls"))),
    ("agent.step.failed",
     (("TEXT", "agent_id"), ("TEXT", "step_id"), ("TEXT", "error"), ("TEXT", "error_type"))),
    ("agent.tool.attached",
     (("TEXT", "agent_id"), ("TEXT", "tool_id"), ("TEXT", "tool_name"))),
    ("agent.tool.detached",
     (("TEXT", "agent_id"), ("TEXT", "tool_id"))),
    ("agent.message.sent",
     (("TEXT", "agent_id"), ("TEXT_NULL", "run_id"), ("INT", "message_count"),
      ("JSON", "usage"))),
    ("tool.execution.completed",
     (("TEXT", "agent_id"), ("TEXT", "tool_name"), ("JSON", "tool_args"), ("TEXT", "status"),
      ("DURATION_US", "execution_time_ms"))),
    ("agent.run.completed",
     (("TEXT", "agent_id"), ("TEXT", "run_id"), ("TEXT", "status"),
      ("TIME_NS", "completed_at"), ("JSON", "usage"))),
    ("agent.job.completed",
     (("TEXT", "agent_id"), ("TEXT", "job_id"), ("TEXT", "status"),
      ("TIME_NS", "completed_at"))),
)
EVENT_TYPES = tuple(etype for etype, _ in CATALOG)

_PROVIDER = b"probehook"
_STRING_KINDS = ("TEXT", "TEXT_NULL", "JSON")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_IDS = {**{t: i for i, t in enumerate(EVENT_TYPES)}, **{i: i for i in range(len(EVENT_TYPES))}}

# ---- argument conversion (only ever run while the probe is on) ---------------------------


def _text(value):
    """str -> UTF-8 bytes that never fail to encode; None stays None (NULL in C)."""
    if value is None or isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        value = str(value)
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # lone surrogates outside U+DC80..U+DCFF
        return value.encode("utf-8", "replace")


def _json_default(obj):
    """What json cannot serialise itself: pydantic-like models, then anything as str."""
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dump()
    return str(obj)


# One encoder for all calls: json.dumps() with options builds a new one each time (~2 us).
_ENCODER = json.JSONEncoder(default=_json_default, separators=(",", ":"), ensure_ascii=False)


def _json(value):
    """JSON text for a JSON argument.  str/bytes are taken as JSON text already (an
    LLM's tool-call arguments usually are); None becomes JSON null in the library."""
    if value is None or isinstance(value, (str, bytes)):
        return _text(value)
    return _text(_ENCODER.encode(value))


def _time_ns(value):
    """Unix nanoseconds from a datetime (naive = UTC), float Unix seconds, int ns,
    an ISO 8601 string, or None (now)."""
    if value is None:
        value = datetime.datetime.now(datetime.timezone.utc)
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        delta = value - _EPOCH  # exact integer arithmetic, no float rounding
        return (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000
    if isinstance(value, float):
        whole = int(value)
        return whole * 10**9 + round((value - whole) * 1e9)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"completed_at: cannot use {type(value).__name__} as a time")


def _duration_us(value):
    """Milliseconds (float or int) or a timedelta -> integer microseconds."""
    if isinstance(value, datetime.timedelta):
        return round(value / datetime.timedelta(microseconds=1))
    return round(float(value) * 1000)


_CONVERT = {"TEXT": _text, "TEXT_NULL": _text, "JSON": _json, "INT": int,
            "TIME_NS": _time_ns, "DURATION_US": _duration_us}
_CONVERTERS = tuple(tuple(_CONVERT[kind] for kind, _ in args) for _, args in CATALOG)

# ---- failures: counted, reported once, never raised ---------------------------------------

_errors = 0
_warned = set()


def _warn_once(key, message, stacklevel):
    if key not in _warned:
        _warned.add(key)
        warnings.warn(f"probehook: {message}", RuntimeWarning, stacklevel=stacklevel + 1)


def _failed(event_type, exc):
    global _errors
    _errors += 1
    _warn_once("error", f"{event_type} event dropped ({type(exc).__name__}: {exc}); "
                        "further errors are only counted (probehook.errors())",
               stacklevel=4)  # _failed <- _fire <- the event function <- its caller


# ---- loading the library and finding its semaphores ----------------------------------------


def _candidates():
    """Where to look for libprobehook.so, in order (see the module docstring)."""
    env = os.environ.get("PROBEHOOK_LIB")
    if env:
        return [env]
    pkg = pathlib.Path(__file__).resolve().parent  # <repo>/probes/python/probehook in a checkout
    in_tree = pkg.parent.name == "python" and pkg.parent.parent.name == "probes"
    found = [str(pkg.parents[2] / "build" / "libprobehook.so")] if in_tree else []
    system = ctypes.util.find_library("probehook")
    return found + ([system] if system else []) + ["libprobehook.so.0"]


def _load():
    """(CDLL, path) of the first candidate that loads and speaks our catalog."""
    reasons = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            reasons.append(str(exc))
            continue
        lib.probehook_event_type.restype = ctypes.c_char_p
        lib.probehook_event_type.argtypes = [ctypes.c_int]
        types = tuple((lib.probehook_event_type(i) or b"").decode() for i in range(len(CATALOG)))
        if types != EVENT_TYPES:
            reasons.append(f"{path}: its catalog {types} is not this binding's")
            continue
        return lib, path
    raise OSError("; ".join(reasons) or "no candidate")


def _bind_functions(lib):
    """The C function of each event, with argtypes so ctypes checks and converts."""
    funcs = []
    for etype, args in CATALOG:
        fn = getattr(lib, "probehook_" + etype.replace(".", "_"))
        fn.argtypes = [ctypes.c_char_p if k in _STRING_KINDS else ctypes.c_int64 for k, _ in args]
        fn.restype = None
        funcs.append(fn)
    lib.probehook_enabled.argtypes = [ctypes.c_int]
    lib.probehook_enabled.restype = ctypes.c_int
    return tuple(funcs)


class _LinkMap(ctypes.Structure):
    _fields_ = [("l_addr", ctypes.c_size_t), ("l_name", ctypes.c_char_p)]


def _link_map(lib):
    """(load bias, file name) of a loaded library, from glibc's dlinfo(RTLD_DI_LINKMAP)."""
    dlinfo = ctypes.CDLL(None).dlinfo
    dlinfo.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lm = ctypes.POINTER(_LinkMap)()
    if dlinfo(lib._handle, 2, ctypes.byref(lm)) != 0:
        raise OSError("dlinfo failed")
    return lm.contents.l_addr, os.fsdecode(lm.contents.l_name)


def _elf_sections(data):
    """Section name -> (sh_addr, sh_offset, sh_size) of a 64-bit little-endian ELF."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF file")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names = headers[shstrndx][4]
    sections = {}
    for name, _type, _flags, addr, offset, size in headers:
        start = names + name
        sections[data[start:data.index(b"\0", start)].decode()] = (addr, offset, size)
    return sections


def _semaphore_addresses(path):
    """Probe name -> link-time address of its semaphore, from the .note.stapsdt notes
    (the same notes libbpf reads to attach), adjusted as SystemTap does for prelinking."""
    with open(path, "rb") as f:
        data = f.read()
    sections = _elf_sections(data)
    base_addr = sections[".stapsdt.base"][0]
    _, off, size = sections[".note.stapsdt"]
    end, sems = off + size, {}
    while off + 12 <= end:
        namesz, descsz, ntype = struct.unpack_from("<III", data, off)
        name = data[off + 12:off + 12 + namesz]
        desc = data[off + 12 + ((namesz + 3) & ~3):][:descsz]
        off += 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3)
        if ntype != 3 or name != b"stapsdt\0":
            continue
        _pc, note_base, sem = struct.unpack_from("<QQQ", desc)
        provider, probe = desc[24:].split(b"\0")[:2]
        if provider == _PROVIDER:
            sems.setdefault(probe.decode(), set()).add(sem + base_addr - note_base)
    return sems


def _semaphore_gates(lib):
    """One ctypes c_uint16 per event, living on the library's semaphore: reading
    .value costs tens of ns, a ctypes call of probehook_enabled() ~10x more."""
    bias, path = _link_map(lib)
    sems = _semaphore_addresses(path)
    gates = []
    for etype, _ in CATALOG:
        addrs = sems.get(etype.replace(".", "__"), set())
        if len(addrs) != 1 or not next(iter(addrs)):
            raise ValueError(f"{etype}: semaphores {addrs}")
        gates.append(ctypes.c_uint16.from_address(bias + addrs.pop()))
    # The library's own answer must agree with what we read.
    for i, gate in enumerate(gates):
        if bool(gate.value) != bool(lib.probehook_enabled(i)):
            raise ValueError(f"{EVENT_TYPES[i]}: semaphore read disagrees with the library")
    return tuple(gates)


class _CallGate:
    """Fallback gate: asks the library (when the semaphores cannot be located)."""
    __slots__ = ("_fn", "_id")

    def __init__(self, fn, event_id):
        self._fn, self._id = fn, event_id

    @property
    def value(self):
        return self._fn(self._id)


def _init():
    """Sets the module state: library, C functions, gates.  Never raises."""
    global _lib, _lib_path, _funcs, _gates, _gate_kind
    _lib, _lib_path, _funcs, _gate_kind = None, None, (), "off"
    _gates = tuple(ctypes.c_uint16(0) for _ in CATALOG)  # never raised: all probes off
    try:
        lib, path = _load()
        funcs = _bind_functions(lib)
    except Exception as exc:  # missing, wrong version, not a library: all mean "off"
        _warn_once("load", f"libprobehook.so not loaded, events are no-ops: {exc}", 3)
        return
    try:
        gates, kind = _semaphore_gates(lib), "semaphore"
    except Exception:  # unusual ELF, no dlinfo: slower but still correct
        gates, kind = tuple(_CallGate(lib.probehook_enabled, i) for i in range(len(CATALOG))), "call"
    _lib, _lib_path, _funcs, _gates, _gate_kind = lib, path, funcs, gates, kind


_init()

# ---- the public API ----------------------------------------------------------------------


def available():
    """True when libprobehook.so is loaded (events can fire once a collector attaches)."""
    return _lib is not None


def errors():
    """How many events were dropped because something failed inside the binding."""
    return _errors


def info():
    """What was loaded and how probes are tested: for logs and benchmarks."""
    return {"available": _lib is not None, "library": _lib_path, "gate": _gate_kind,
            "errors": _errors}


def enabled(event):
    """True while a collector has the event's probe attached.  event: a type string
    ("agent.step.completed") or a probe id.  Use it to skip work that only serves the
    event; the event functions already test it themselves."""
    try:
        return _gates[_IDS[event]].value != 0
    except (KeyError, TypeError):
        return False


def _fire(event_id, args):
    """Converts the arguments and calls the C function; the probe is known to be on."""
    try:
        _funcs[event_id](*[conv(a) for conv, a in zip(_CONVERTERS[event_id], args)])
        return True
    except Exception as exc:  # never into the caller's agent loop
        _failed(EVENT_TYPES[event_id], exc)
        return False


def agent_step_completed(agent_id, step_id, status="completed", usage=None, tool_calls=None):
    """After a step's checkpoint finishes.  usage: dict/model or None; tool_calls: list
    of dicts/models (None is sent as [], as the seed does)."""
    if not _gates[0].value:
        return False
    return _fire(0, (agent_id, step_id, status, usage, [] if tool_calls is None else tool_calls))


def agent_step_failed(agent_id, step_id, error, error_type):
    """In a step's error path, before re-raising: error=str(e), error_type=type(e).__name__."""
    if not _gates[1].value:
        return False
    return _fire(1, (agent_id, step_id, error, error_type))


def agent_tool_attached(agent_id, tool_id, tool_name):
    """After a tool is attached to an agent and committed."""
    if not _gates[2].value:
        return False
    return _fire(2, (agent_id, tool_id, tool_name))


def agent_tool_detached(agent_id, tool_id):
    """After a tool is detached from an agent and committed."""
    if not _gates[3].value:
        return False
    return _fire(3, (agent_id, tool_id))


def agent_message_sent(agent_id, run_id, message_count, usage=None):
    """After the messages endpoint has processed a request.  run_id may be None (JSON null)."""
    if not _gates[4].value:
        return False
    return _fire(4, (agent_id, run_id, message_count, usage))


def tool_execution_completed(agent_id, tool_name, tool_args, status, execution_time_ms):
    """After a tool executes.  status: "success"/"error"; execution_time_ms: float ms
    (sent as integer microseconds, delivered as fractional ms)."""
    if not _gates[5].value:
        return False
    return _fire(5, (agent_id, tool_name, tool_args, status, execution_time_ms))


def agent_run_completed(agent_id, run_id, status, completed_at, usage=None):
    """When a run reaches a terminal status.  completed_at: datetime (naive = UTC),
    float Unix seconds or int Unix ns."""
    if not _gates[6].value:
        return False
    return _fire(6, (agent_id, run_id, status, completed_at, usage))


def agent_job_completed(agent_id, job_id, status, completed_at):
    """When a job that carries an agent id reaches a terminal status."""
    if not _gates[7].value:
        return False
    return _fire(7, (agent_id, job_id, status, completed_at))
