"""Peak memory of the running process, shared by the benchmarks."""

import resource

import psutil


def peak_rss_bytes() -> int:
    """This process's resident-memory high-water mark.

    Linux's VmHWM is reset by exec, unlike ``ru_maxrss``, which a child started with fork + exec inherits from its
    parent; elsewhere the larger of ``ru_maxrss`` and the current RSS is used.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, psutil.Process().memory_info().rss)
