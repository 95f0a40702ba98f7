"""Instruments a library once it has been imported, whenever that happens.

A finder first on sys.meta_path answers only for the few module names it
watches; for them it lets the other finders find the module, and wraps the
loader so the instrumentation runs right after the module's own code. Any
other import costs one dictionary lookup.
"""
import importlib
import sys


class _Loader:
    def __init__(self, loader, instrument):
        self._loader = loader
        self._instrument = instrument

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = self._loader
        self._loader.exec_module(module)
        _instrument(self._instrument, module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


def _instrument(instrumentation, module):
    try:
        importlib.import_module(instrumentation).instrument(module)
    except Exception as error:  # the program must run even if this fails
        sys.stderr.write("poolwatch: warning: cannot track %s: %s\n" % (module.__name__, error))


class _Finder:
    def __init__(self, watched):
        self._watched = watched

    def find_spec(self, name, path=None, target=None):
        instrumentation = self._watched.get(name)
        if instrumentation is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, instrumentation)
                return spec
        return None


def install(watched):
    for name, instrumentation in watched.items():
        module = sys.modules.get(name)
        if module is not None:
            _instrument(instrumentation, module)
    pending = {n: i for n, i in watched.items() if n not in sys.modules}
    if pending:
        sys.meta_path.insert(0, _Finder(pending))
