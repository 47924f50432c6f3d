#!/usr/bin/python3
"""The module's file contexts (bulwark.fc, as compiled into bulwark.cil) against the paths
the launcher really uses, and against the rest of the host.

Usage: file_contexts.py BULWARK_CIL FILE_CONTEXTS [POLICY_SHOW_JSON]

FILE_CONTEXTS is the whole policy's file_contexts as secilc wrote it (Debian's and the
module's specifications, sorted the way semodule installs them): a path's label is looked up
in it with libselinux's selabel_lookup, the label setfiles/restorecon would give, so a Debian
specification that outranks the module's (e.g. "/usr/libexec(/.*)?  bin_t") is seen.
POLICY_SHOW_JSON is the output of `bulwark policy show --json` (computed by the launcher's
own code: base and run directories, each process's jail root, domain and binary). Without it
the built-in defaults are used and a line says so.

Checks:
- every path the launcher creates under the jail base directory is left alone by restorecon
  (<<none>>): the launcher labels it for its VM; the base directory is bulwark_jail_t;
- the run directory and what is under it: bulwark_var_run_t; /etc/bulwark: bulwark_conf_t;
- each jailed process's installed binary (/usr/(local/)libexec/bulwark/NAME) is its domain's
  entry type, and the launcher binary is bulwark_launcher_exec_t;
- no specification labels anything outside Bulwark's own paths: every string a regular
  expression can match (enumerated from its syntax) lies under one of them, and none matches
  a list of host paths (/usr/bin, /home, /etc/shadow, ...).
Exit 1 when one fails.
"""
import json
import re
import stat
import sys

import selinux

try:
    import re._parser as sre_parse  # Python 3.11+
    from re import _constants as sre_constants
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore
    import sre_constants  # type: ignore

ALLOWED_ROOTS = re.compile(r"/usr/(local/)?(s)?bin/bulwark|/usr/(local/)?libexec/bulwark(/.*)?|/etc/bulwark(/.*)?"
                           r"|/usr/(local/)?share/bulwark(/.*)?|/srv/bulwark(/.*)?|/run/bulwark(/.*)?")
HOST_PATHS = ["/", "/usr", "/usr/bin", "/usr/bin/ls", "/usr/bin/bash", "/usr/bin/sudo", "/usr/sbin", "/usr/sbin/sshd",
              "/usr/local/bin", "/usr/local/bin/other", "/usr/lib", "/usr/lib/x86_64-linux-gnu/libc.so.6",
              "/usr/libexec", "/usr/libexec/other", "/usr/share", "/usr/share/other", "/home", "/home/alice",
              "/home/alice/.ssh/authorized_keys", "/home/alice/vm.img", "/root", "/root/.bashrc", "/etc", "/etc/shadow",
              "/etc/passwd", "/etc/selinux/config", "/etc/bulwark-other", "/srv", "/srv/other", "/srv/bulwarkx",
              "/run", "/run/user/1000", "/run/bulwark-other", "/var", "/var/lib/libvirt/images/x.img", "/tmp",
              "/tmp/x", "/boot/vmlinuz", "/dev/kvm", "/proc/1/mem", "/sys/fs/selinux/enforce"]


def parse_filecons(cil_text):
    """[(regex, file kind, type or None for <<none>>)] from the filecon statements."""
    specs = []
    for match in re.finditer(r'\(filecon "([^"]*)" (\w+) (\(\)|\((\w+) (\w+) (\w+) .*?\))\)\n', cil_text):
        specs.append((match.group(1), match.group(2), match.group(6)))
    return specs


def samples(regex, limit=256):
    """Strings the regex matches, one per choice at every optional part, alternative and
    repetition (none / once / twice), so a pattern reaching outside Bulwark's paths yields a
    sample outside them."""
    def walk(items):
        results = [""]
        for op, av in items:
            options = one(op, av)
            results = [r + o for r in results for o in options][:limit]
        return results

    def one(op, av):
        if op == sre_constants.LITERAL:
            return [chr(av)]
        if op == sre_constants.NOT_LITERAL:
            return ["x" if chr(av) != "x" else "y"]
        if op == sre_constants.ANY:
            return ["x", "/"]
        if op == sre_constants.IN:
            for kind, value in av:
                if kind == sre_constants.LITERAL:
                    return [chr(value)]
                if kind == sre_constants.RANGE:
                    return [chr(value[0])]
            return ["x"]
        if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, getattr(sre_constants, "POSSESSIVE_REPEAT", -1)):
            low, high, sub = av
            body = walk(sub)
            counts = sorted({low, max(low, 1), min(max(low, 2), high if high != sre_constants.MAXREPEAT else 2)})
            out = []
            for count in counts:
                if count > high:
                    continue
                parts = [""]
                for _ in range(count):
                    parts = [p + b for p in parts for b in body][:limit]
                out.extend(parts)
            return out[:limit]
        if op == sre_constants.SUBPATTERN:
            return walk(av[-1])
        if op == sre_constants.BRANCH:
            out = []
            for alternative in av[1]:
                out.extend(walk(alternative))
            return out[:limit]
        if op in (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            return [""]
        return ["x"]

    return walk(sre_parse.parse(regex))


MODES = {"dir": stat.S_IFDIR, "file": stat.S_IFREG, "lnk_file": stat.S_IFLNK, "chr_file": stat.S_IFCHR}


HANDLE = []


def load_file_contexts(path):
    option = selinux.selinux_opt()
    option.type = selinux.SELABEL_OPT_PATH
    option.value = path
    HANDLE.append(selinux.selabel_open(selinux.SELABEL_CTX_FILE, option, 1))


def setfiles_label(path, kind):
    """The type restorecon gives path (libselinux selabel_lookup, as setfiles), 'none' when
    <<none>> or nothing matches."""
    try:
        _, context = selinux.selabel_lookup(HANDLE[0], path, MODES[kind])
    except FileNotFoundError:
        return "none"
    return context.split(":")[2]


class Checker:
    def __init__(self):
        self.assertions = 0
        self.failures = 0

    def check(self, ok, line):
        self.assertions += 1
        if not ok:
            self.failures += 1
            print("FAIL " + line)


def launcher_paths(show):
    """(base_dir, run_dir, [(host path, kind)] under base_dir, {binary name: domain})."""
    settings = show["operator_settings"]["text"]
    base = re.search(r"base_dir = (\S+)", settings).group(1)
    run = re.search(r"run_dir = (\S+)", settings).group(1)
    created = []
    binaries = {}
    for process in show["processes"]:
        if not process.get("jailed"):
            continue
        root = re.search(r"pivot_root into (\S+)", process["namespaces"]["root"]).group(1)
        root = root.replace("<id>", "vm-1").replace("<device>", "blk0")
        instance = root.rsplit("/", 1)[0]
        created += [(instance, "dir"), (root, "dir")]
        for entry in process.get("jail_root", []):
            kind = "lnk_file" if entry["type"] == "symlink" else ("dir" if not entry.get("exec") else "file")
            created.append((root + entry["path"], kind))
            # The parents the launcher makes for it (/usr for /usr/lib, /vm for /vm/kernel).
            parent = entry["path"].rsplit("/", 1)[0]
            while parent:
                created.append((root + parent, "dir"))
                parent = parent.rsplit("/", 1)[0]
            source = entry.get("source", "")
            if source.startswith("<bulwark-"):
                binaries[source.strip("<>")] = process["selinux"]["domain"]
        for entry in process.get("dev", []):
            created.append((root + entry["path"], "chr_file"))
    return base, run, created, binaries


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__)
        return 2
    with open(sys.argv[1], encoding="utf-8") as cil:
        specs = parse_filecons(cil.read())
    c = Checker()
    c.check(bool(specs), f"no filecon statements in {sys.argv[1]}")
    load_file_contexts(sys.argv[2])
    c.check(setfiles_label("/usr/bin/ls", "file") == "bin_t", f"libselinux did not load {sys.argv[2]}")
    if len(sys.argv) == 4:
        with open(sys.argv[3], encoding="utf-8") as show_file:
            show = json.load(show_file)
        base, run, created, binaries = launcher_paths(show)
        origin = "the launcher's own paths (bulwark policy show)"
    else:
        base, run = "/srv/bulwark", "/run/bulwark"
        created = [("/srv/bulwark/vm-1", "dir"), ("/srv/bulwark/vm-1/root", "dir"), ("/srv/bulwark/vm-1/root/usr", "dir"),
                   ("/srv/bulwark/vm-1/root/lib", "lnk_file"), ("/srv/bulwark/vm-1/root/vm.json", "file")]
        binaries = {"bulwark-monitor": "bulwark_vm_t", "bulwark-dev-blk": "bulwark_dev_blk_t",
                    "bulwark-dev-rng": "bulwark_dev_rng_t", "bulwark-dev-net": "bulwark_dev_net_t",
                    "bulwark-api": "bulwark_api_t"}
        origin = "built-in default paths (no bulwark policy show output given)"
    c.check(bool(binaries), "policy show named no jailed binary")

    # The labels restorecon gives the launcher's paths (the whole policy's file_contexts). The
    # jail: base directory labelled, everything the launcher creates below it left alone.
    got = setfiles_label(base, "dir")
    c.check(got == "bulwark_jail_t", f"{base} (jail base) is {got}, must be bulwark_jail_t")
    for path, kind in sorted(set(created)):
        got = setfiles_label(path, kind)
        c.check(got == "none", f"{path} ({kind}, made by the launcher) would be relabelled by restorecon to {got},"
                               " must be <<none>> (the launcher labels it for its VM)")
    for path, kind in ((run, "dir"), (run + "/labels.lock", "file"), (run + "/vm-1", "dir")):
        got = setfiles_label(path, kind)
        c.check(got == "bulwark_var_run_t", f"{path} is {got}, must be bulwark_var_run_t")
    for path, kind in (("/etc/bulwark", "dir"), ("/etc/bulwark/host.json", "file"),
                       ("/usr/share/bulwark/policy/seccomp/monitor.policy", "file"),
                       ("/usr/local/share/bulwark/policy", "dir")):
        got = setfiles_label(path, kind)
        c.check(got == "bulwark_conf_t", f"{path} is {got}, must be bulwark_conf_t")
    for prefix in ("/usr/libexec/bulwark/", "/usr/local/libexec/bulwark/"):
        for name, domain in sorted(binaries.items()):
            want = domain[:-2] + "_exec_t"
            got = setfiles_label(prefix + name, "file")
            c.check(got == want, f"{prefix + name} is {got}, must be {want} (entry of {domain})")
    for path in ("/usr/bin/bulwark", "/usr/local/bin/bulwark", "/usr/sbin/bulwark"):
        got = setfiles_label(path, "file")
        c.check(got == "bulwark_launcher_exec_t", f"{path} is {got}, must be bulwark_launcher_exec_t")

    # Nothing outside Bulwark's paths.
    for regex, kind, type_name in specs:
        for sample in samples(regex):
            c.check(ALLOWED_ROOTS.fullmatch(sample) is not None,
                    f"file context \"{regex}\" ({type_name or '<<none>>'}) labels {sample}, outside Bulwark's paths")
            if ALLOWED_ROOTS.fullmatch(sample) is None:
                break
        for path in HOST_PATHS:
            c.check(re.fullmatch(regex, path) is None,
                    f"file context \"{regex}\" ({type_name or '<<none>>'}) labels the host path {path}")

    print(f"file contexts: {c.assertions} assertions, {c.failures} failed; {len(specs)} specifications"
          f" against {origin}: base {base}, run {run}, {len(set(created))} jail paths, binaries"
          f" {', '.join(sorted(binaries))}")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
