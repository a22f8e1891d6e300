"""CPU seconds used by process trees, read from /proc (Linux), for the benches' CPU shares."""

import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    """Return (ppid, own cpu seconds, reaped children's cpu seconds) of a process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command: state ppid ... utime(14) stime(15) cutime(16) cstime(17), 1-based.
    ppid = int(fields[1])
    own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    reaped = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
    return ppid, own, reaped


def tree_cpu_seconds(root):
    """CPU seconds of a process, its live descendants and the children it has reaped."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat:
                stats[int(entry)] = stat
    children = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            _, own, reaped = stats[pid]
            total += own + reaped
        todo.extend(children.get(pid, []))
    return total


def postmaster_pid(port):
    """Return the pid of the PostgreSQL server listening on this port (from its command line)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"postgres") and b"-p" in argv:
            if argv[argv.index(b"-p") + 1:argv.index(b"-p") + 2] == [str(port).encode()]:
                return int(entry)
    return None


def self_cpu_seconds():
    """CPU seconds of this process (all its threads)."""
    times = os.times()
    return times.user + times.system


def machine_cpu_seconds():
    """Return (busy, idle) CPU seconds of the whole machine since boot, all cores."""
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS, idle / CLOCK_TICKS
