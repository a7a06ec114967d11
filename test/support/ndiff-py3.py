"""Runs nmap's installed ndiff with two Python 3 comparison bugs patched, and nothing else changed.

ndiff up to at least 7.95 (nmap/nmap#2930) sorts ScriptResult objects that only define the
Python 2 __cmp__, so it crashes on any port or host with two or more scripts, nmap's own output
included; and it compares a list of script differences with `> 0`. Its XML parsing, the part the
export test relies on, is untouched. Usage (with the interpreter of ndiff's #! line):
    python3 test/support/ndiff-py3.py "$(command -v ndiff)" [ndiff options] a.xml b.xml
"""
import runpy
import sys

launcher = sys.argv[1]
# The launcher finds and imports nmap's ndiff module; it only calls main() when run as __main__.
runpy.run_path(launcher, run_name="ndiff_launcher")
import ndiff  # noqa: E402  (the module the launcher just imported)

if "__lt__" not in vars(ndiff.ScriptResult):
    ndiff.ScriptResult.__lt__ = lambda a, b: (a.id, a.output) < (b.id, b.output)


class _Diffs(list):
    def __gt__(self, other):
        return len(self) > other if isinstance(other, int) else list.__gt__(self, other)


_port_diff_init = ndiff.PortDiff.__init__


def _init(self, *args, **kwargs):
    _port_diff_init(self, *args, **kwargs)
    self.script_result_diffs = _Diffs(self.script_result_diffs)


ndiff.PortDiff.__init__ = _init

sys.argv = [launcher] + sys.argv[2:]
sys.exit(ndiff.main())
