#!/usr/bin/python3
"""Type-level proofs about the Bulwark SELinux module in a compiled policy, with setools.

Usage: policy_structure.py POLICY_FILE

These are the rules an auditor (or an attacker who took over a VM process) would check with
sesearch/seinfo, over every allow rule in the whole policy with attributes expanded, so a rule
added anywhere, not only in bulwark.te, is seen:
- the per-VM domains are whatever the policy puts in bulwark_vm_domain (devices:
  bulwark_device_domain), never a list kept here; a Bulwark domain outside the attribute, or
  any other domain with rules on Bulwark's per-VM types, fails;
- each VM domain: MCS-constrained, entered only from the launcher through its own binary, no
  capabilities, no sockets but unix ones, no execmem/execstack/execheap/execmod, executes
  only its own binary, ld.so and libraries (nothing any VM domain can write), no access to
  generic host types, no transition out, no ptrace;
- /dev/kvm, images, content: who may use them;
- the TAP (tun_tap_device_t, tun_socket): the launcher makes it; among the VM domains only the
  net device uses it, through the fds it was given (no open), with only the ioctl commands its
  allowxperm rule lists, and no tun_socket permission but re-attaching its own detached queue;
- the API process (bulwark_api_t): a VM domain but no device, with no rule on the guest's RAM,
  the monitor's fds, vhost-user sockets, images, content, /dev/kvm or TAPs; its only socket peers
  besides itself the monitor's stdio relay sockets (read, write, getattr); its socket file per-VM
  (bulwark_vm_object) and used by no VM domain; the launcher makes its sockets and is no client;
- the launcher relabels to exactly Bulwark's labels and the image homes it restores to.
Exit 1 when one fails.
"""
import sys

import setools

LAUNCHER = "bulwark_launcher_t"
# Bulwark's own labels the launcher gives files (LABELS.md).
BULWARK_LABELS = {"bulwark_image_t", "bulwark_content_t", "bulwark_jail_t", "bulwark_vhost_sock_t"}
# Generic data types images, kernels and initrds live under; the launcher restores them
# (bulwark.te: bulwark_image_home_types).
IMAGE_HOMES = {"var_t", "var_lib_t", "user_home_t", "tmp_t", "user_tmp_t", "boot_t", "mnt_t", "default_t",
               "public_content_t"}
# Never a relabel target of the launcher, whatever else changes.
NEVER_RELABELTO = {"etc_t", "selinux_config_t", "policy_config_t", "default_context_t", "file_context_t",
                   "semanage_store_t", "load_policy_exec_t", "bin_t", "lib_t", "ld_so_t", "shadow_t", "usr_t",
                   "bulwark_conf_t", "bulwark_var_run_t", "bulwark_launcher_exec_t", "bulwark_vm_tmpfs_t"}
FILE_TYPES = ["bulwark_image_t", "bulwark_content_t", "bulwark_jail_t", "bulwark_var_run_t",
              "bulwark_vhost_sock_t", "bulwark_vm_tmpfs_t", "bulwark_conf_t", "bulwark_api_sock_t"]
FILE_CLASSES = ["file", "dir", "lnk_file", "sock_file", "fifo_file", "chr_file", "blk_file"]

# Generic host types a VM process has no business with. No access at all:
HOST_TYPES_NONE = ["tmp_t", "user_tmp_t", "user_home_t", "user_home_dir_t", "home_root_t", "shadow_t", "var_lib_t",
                   "var_log_t", "var_spool_t", "default_t", "mnt_t", "boot_t", "security_t", "selinux_config_t",
                   "policy_config_t", "semanage_store_t", "file_context_t", "default_context_t", "admin_home_t",
                   "auditd_log_t", "cert_t", "tls_privkey_t", "public_content_t", "public_content_rw_t", "nfs_t",
                   "httpd_sys_content_t", "virt_image_t", "svirt_image_t", "fixed_disk_device_t",
                   "removable_device_t", "memory_device_t", "kmsg_device_t", "tty_device_t"]
# Directories every domain may read in Debian's base policy: nothing else (no files in them, no
# writes, no new names).
HOST_TYPES_DIRS_ONLY = ["var_run_t", "var_t", "etc_t", "root_t", "usr_t", "device_t", "tmpfs_t", "proc_t",
                        "sysfs_t", "etc_runtime_t", "bin_t", "var_lock_t"]
WRITE_PERMS = {"write", "append", "create", "unlink", "rename", "link", "setattr", "add_name", "remove_name", "rmdir",
               "reparent", "relabelfrom", "relabelto", "mounton", "execute", "execute_no_trans", "entrypoint",
               "execmod", "map", "quotaon", "swapon"}
# The only non-unix socket permissions a VM domain has, each with its target exactly as written
# in the rule (an attribute covering the target does not count): bulwark-dev-net re-attaches a
# TAP queue it detached itself (TUNSETQUEUE IFF_ATTACH_QUEUE), which the kernel checks against
# the TAP's tun_socket, labelled with the launcher's context when the launcher created the TAP,
# and only ever attaches to the TAP the queue came from.
SOCKET_EXCEPTIONS = {("bulwark_dev_net_t", "tun_socket", LAUNCHER): {"attach_queue"}}
NET_DEVICE = "bulwark_dev_net_t"
TUN_DEVICE = "tun_tap_device_t"
API = "bulwark_api_t"
API_SOCK = "bulwark_api_sock_t"
# What the API process holds nothing of (its guest's and the host's data and devices).
API_NEVER = ["bulwark_vm_tmpfs_t", "bulwark_vhost_sock_t", "bulwark_image_t", "bulwark_content_t", "kvm_device_t",
             TUN_DEVICE, "bulwark_var_run_t", API_SOCK]
# The API process's socket rules on other types, exactly (its own sockets come from
# bulwark_vm_domain's self rule): the stdio relay socketpairs, labelled as its VM's monitor.
API_SOCKET_PEERS = {("bulwark_vm_t", "unix_stream_socket"): {"getattr", "read", "write"}}
# The TAP ioctls bulwark-dev-net may make (the kernel checks the request's low 16 bits): its
# allowxperm rule must list only these. TUNSETIFF (0x54ca) and the rest are refused.
TUN_IOCTLS = {0x54d0: "TUNSETOFFLOAD", 0x54d2: "TUNGETIFF", 0x54d7: "TUNGETVNETHDRSZ", 0x54d8: "TUNSETVNETHDRSZ",
              0x54d9: "TUNSETQUEUE"}
TUN_IOCTLS_REFUSED = {0x54ca: "TUNSETIFF", 0x54cb: "TUNSETPERSIST", 0x54cc: "TUNSETOWNER", 0x54cd: "TUNSETLINK",
                      0x54ce: "TUNSETGROUP", 0x54d5: "TUNATTACHFILTER", 0x54e0: "TUNSETSTEERINGEBPF"}
# What every domain gets from Debian's base policy that the checks below would otherwise
# report: (rule target as written, class, permissions allowed).
BASE_DOMAIN_RULES = [("netlabel_peer_t", "tcp_socket", {"recvfrom"}),
                     ("unconfined_domain_type", "tcp_socket", {"recvfrom"}),
                     ("textrel_shlib_t", "file", {"execmod", "execute", "getattr", "ioctl", "map", "open", "read"}),
                     ("setrans_t", "unix_stream_socket", {"connectto"})]


class Checker:
    def __init__(self, policy):
        self.policy = policy
        self.assertions = 0
        self.failures = 0
        self.expanded = {}
        type_names = {str(t) for t in policy.types()}
        self.vm_domains = self.members("bulwark_vm_domain")
        self.device_domains = self.members("bulwark_device_domain")
        self.domains = self.members("domain")
        self.bulwark_domains = sorted({LAUNCHER} | set(self.vm_domains))
        self.host_none = [t for t in HOST_TYPES_NONE if t in type_names]
        self.index_rules()

    def members(self, attribute):
        try:
            return sorted(str(t) for t in self.policy.lookup_typeattr(attribute).expand())
        except Exception:  # pylint: disable=broad-except
            return []

    def expand(self, type_or_attribute):
        name = str(type_or_attribute)
        if name not in self.expanded:
            self.expanded[name] = {str(t) for t in type_or_attribute.expand()}
        return self.expanded[name]

    def index_rules(self):
        """One pass over every rule (a query per check would take minutes): the allow rules
        whose target is a Bulwark type or /dev/kvm, the allow rules whose source covers a
        Bulwark domain, entry points and automatic transitions into Bulwark domains."""
        interesting = {t for t in self.policy.types()
                       if str(t).startswith("bulwark_") or str(t) in ("kvm_device_t", TUN_DEVICE)}
        covers = {}
        for t in interesting:
            covers.setdefault(str(t), set()).add(str(t))
            for attribute in t.attributes():
                covers.setdefault(str(attribute), set()).add(str(t))
        source_covers = {}
        for name in self.bulwark_domains:
            source_covers.setdefault(name, set()).add(name)
            for attribute in self.policy.lookup_type(name).attributes():
                source_covers.setdefault(str(attribute), set()).add(name)
        self.by_target = {}
        self.by_source = {}
        self.entrypoints = {}
        self.auto_transitions = []
        self.xperm_rules = []
        for rule in self.policy.terules():
            kind = rule.ruletype.name
            if kind == "allow":
                targets = covers.get(str(rule.target))
                if targets:
                    for target in targets:
                        self.by_target.setdefault((target, str(rule.tclass)), []).append(rule)
                for source in source_covers.get(str(rule.source), ()):
                    self.by_source.setdefault(source, []).append(rule)
                if str(rule.tclass) == "file" and "entrypoint" in rule.perms:
                    for source in self.expand(rule.source):
                        if source.startswith("bulwark_"):
                            self.entrypoints.setdefault(source, set()).update(self.expand(rule.target))
            elif kind == "type_transition" and str(rule.default).startswith("bulwark_"):
                self.auto_transitions.append(rule)
            elif kind == "allowxperm":
                self.xperm_rules.append(rule)

    def sources(self, target, tclass, perms):
        """Every type (attributes expanded) allowed any of perms on target:tclass, and the rule."""
        found = {}
        for rule in self.by_target.get((target, tclass), []):
            if set(perms) & set(rule.perms):
                for source in self.expand(rule.source):
                    found.setdefault(source, str(rule))
        return found

    def rules_of(self, source, tclasses=None, perms=None):
        """(rule, perms) for every allow rule of source (attributes expanded), optionally only
        those classes and only those permissions; base-policy rules every domain has are left
        out (BASE_DOMAIN_RULES, listed exactly)."""
        for rule in self.by_source.get(source, []):
            tclass = str(rule.tclass)
            if tclasses is not None and tclass not in tclasses:
                continue
            granted = set(rule.perms)
            if any(str(rule.target) == t and tclass == c and granted <= p for t, c, p in BASE_DOMAIN_RULES):
                continue
            if perms is not None:
                granted &= set(perms)
            if granted:
                yield rule, granted

    def check(self, ok, line):
        self.assertions += 1
        if not ok:
            self.failures += 1
            print("FAIL " + line)

    def only(self, allowed_sources, target, tclass, perms, why, among=None):
        """Only allowed_sources (restricted to `among`, if given) have perms on target:tclass."""
        found = self.sources(target, tclass, perms)
        for source, rule in sorted(found.items()):
            if among is not None and source not in among:
                continue
            self.check(source in allowed_sources,
                       f"ALLOWED but must be denied: {source} -> {target}:{tclass} {{ {' '.join(perms)} }}"
                       f" ({why}; rule: {rule})")
        return found


def check_domains_by_attribute(c):
    """Every Bulwark domain is the launcher or in bulwark_vm_domain; no other domain has rules
    on the per-VM types (it would escape bulwark_mcs.cil)."""
    c.check("bulwark_vm_t" in c.vm_domains, "bulwark_vm_t is not in bulwark_vm_domain (bulwark_mcs.cil)")
    c.check(bool(c.device_domains), "no type in bulwark_device_domain")
    for domain in c.device_domains:
        c.check(domain in c.vm_domains, f"{domain} is in bulwark_device_domain but not in bulwark_vm_domain")
    for domain in c.domains:
        if domain.startswith("bulwark_"):
            c.check(domain == LAUNCHER or domain in c.vm_domains,
                    f"domain {domain} is not in bulwark_vm_domain: no MCS separation applies to it"
                    " (declare it with bulwark_vm_domain_template or bulwark_device_domain_template)")
    per_vm = {"bulwark_vm_object", "bulwark_vm_domain", "bulwark_device_domain", "bulwark_exec_file",
              "bulwark_file_type", "bulwark_content_t"} | set(c.members("bulwark_vm_object")) | set(c.vm_domains)
    per_vm |= {d[:-2] + "_exec_t" for d in c.vm_domains}
    allowed = {LAUNCHER} | set(c.vm_domains)
    seen = set()
    for rule in c.policy.terules():
        if rule.ruletype.name != "allow" or str(rule.target) not in per_vm:
            continue
        for source in c.expand(rule.source):
            if source in allowed or source not in c.domains or (source, str(rule)) in seen:
                continue
            seen.add((source, str(rule)))
            c.check(False, f"domain {source} has access to Bulwark's per-VM types but is not in bulwark_vm_domain"
                           f" (rule: {rule})")


def check_vm_domain(c, domain, writable):
    attributes = {str(a) for a in c.policy.lookup_type(domain).attributes()}
    c.check("mcs_constrained_type" in attributes, f"{domain} is not MCS-constrained (mcs_constrained)")
    entry_type = domain[:-2] + "_exec_t"
    # Entered only from the launcher, only through its own entry file, never dynamically.
    c.only({LAUNCHER}, domain, "process", ["transition"], "domain transitions only from the launcher")
    c.only(set(), domain, "process", ["dyntransition"], "no dynamic transition into a VM domain")
    entries = c.entrypoints.get(domain, set())
    c.check(entries == {entry_type}, f"{domain} may be entered from {sorted(entries)}, must be only {entry_type}")
    trans = [str(rule) for rule in c.auto_transitions if str(rule.default) == domain]
    c.check(not trans, f"an automatic type_transition leads into {domain}: {trans}")

    for rule, perms in c.rules_of(domain, {"capability", "capability2", "cap_userns", "cap2_userns"}):
        c.check(False, f"{domain} has {rule.tclass} {{ {' '.join(sorted(perms))} }} (no capabilities; rule: {rule})")
    for rule, perms in c.rules_of(domain):
        tclass = str(rule.tclass)
        if (tclass.endswith("_socket") or tclass == "socket") and tclass not in ("unix_stream_socket",
                                                                                 "unix_dgram_socket"):
            bad = perms - SOCKET_EXCEPTIONS.get((domain, tclass, str(rule.target)), set())
            c.check(not bad, f"{domain} may use {tclass} {{ {' '.join(sorted(bad))} }} on {rule.target}"
                             f" (no network, netlink or raw sockets; rule: {rule})")
        if tclass in ("port", "node", "netif", "packet"):
            c.check(False, f"{domain} has {tclass} {{ {' '.join(sorted(perms))} }} on {rule.target} (rule: {rule})")
    for rule, perms in c.rules_of(domain, {"process"}, {"execmem", "execstack", "execheap", "ptrace", "transition",
                                                        "dyntransition", "setcurrent", "setexec"}):
        c.check(False, f"{domain} has process {{ {' '.join(sorted(perms))} }} on {rule.target}"
                       f" (no executable memory, no ptrace, no transition out; rule: {rule})")
    for rule, perms in c.rules_of(domain, FILE_CLASSES, {"execmod"}):
        c.check(False, f"{domain} has execmod on {rule.target} (rule: {rule})")
    allowed_exec = {entry_type, "ld_so_t", "lib_t"}
    for rule, perms in c.rules_of(domain, {"file"}, {"execute", "execute_no_trans"}):
        for target in sorted(c.expand(rule.target)):
            c.check(target in allowed_exec, f"{domain} may execute {target} (only {', '.join(sorted(allowed_exec))};"
                                            f" rule: {rule})")
            c.check(target not in writable, f"{domain} may execute {target}, which a VM domain may write"
                                            f" (rule: {rule})")

    # Generic host types.
    for rule, perms in c.rules_of(domain):
        for target in sorted(c.expand(rule.target) & set(c.host_none)):
            c.check(False, f"{domain} has {rule.tclass} {{ {' '.join(sorted(perms))} }} on host type {target}"
                           f" (rule: {rule})")
        for target in sorted(c.expand(rule.target) & set(HOST_TYPES_DIRS_ONLY)):
            tclass = str(rule.tclass)
            bad = perms & WRITE_PERMS if tclass in ("dir", "lnk_file") else (
                perms if tclass in FILE_CLASSES else set())
            c.check(not bad, f"{domain} has {tclass} {{ {' '.join(sorted(bad))} }} on host type {target}"
                             f" (read-only directories only; rule: {rule})")


def check_tap(c):
    """The TAP: made by the launcher, used by the net device through its fds only."""
    c.only({LAUNCHER}, TUN_DEVICE, "chr_file", ["open", "append", "lock", "map", "execute", "setattr", "create"],
           "only the launcher opens /dev/net/tun; the net device uses the fds it was given",
           among=c.bulwark_domains)
    c.only({LAUNCHER, NET_DEVICE}, TUN_DEVICE, "chr_file", ["read", "write", "ioctl", "getattr"],
           "among the VM processes only the net device uses TAP queues", among=c.bulwark_domains)
    if NET_DEVICE not in c.device_domains:
        c.check(False, f"{NET_DEVICE} is not in bulwark_device_domain")
        return
    granted = c.sources(TUN_DEVICE, "chr_file", ["read", "write", "ioctl", "getattr"])
    c.check(NET_DEVICE in granted, f"DENIED but must be allowed: {NET_DEVICE} cannot use its TAP queue fds"
                                   f" ({TUN_DEVICE}:chr_file read write ioctl getattr)")
    c.check(LAUNCHER in c.sources(TUN_DEVICE, "chr_file", ["open"]), "the launcher cannot open /dev/net/tun")
    # The ioctl commands: the union of every allowxperm rule covering the net device and the TAP
    # (the kernel's rule: with none, every command passes).
    commands = set()
    for rule in c.xperm_rules:
        if (rule.xperm_type == "ioctl" and str(rule.tclass) == "chr_file" and NET_DEVICE in c.expand(rule.source)
                and TUN_DEVICE in c.expand(rule.target)):
            commands |= set(rule.perms)
    c.check(bool(commands), f"ALLOWED but must be denied: {NET_DEVICE} may make every ioctl on {TUN_DEVICE}"
                            " (no allowxperm rule limits it; TUNSETIFF would pass)")
    extra = sorted(commands - set(TUN_IOCTLS))
    c.check(not extra, f"ALLOWED but must be denied: {NET_DEVICE} may make ioctl"
                       f" {', '.join(TUN_IOCTLS_REFUSED.get(x, hex(x)) + f' ({x:#06x})' for x in extra)}"
                       f" on {TUN_DEVICE} (only {', '.join(sorted(TUN_IOCTLS.values()))})")
    missing = sorted(set(TUN_IOCTLS) - commands) if commands else []
    c.check(not missing, f"DENIED but must be allowed: {NET_DEVICE} ioctl"
                         f" {', '.join(TUN_IOCTLS[x] for x in missing)} on {TUN_DEVICE}")
    # tun_socket: no VM domain creates a TAP or joins one (TUNSETIFF: create, relabelfrom, relabelto).
    for domain in c.vm_domains:
        for rule, perms in c.rules_of(domain, {"tun_socket"}):
            bad = perms - SOCKET_EXCEPTIONS.get((domain, "tun_socket", str(rule.target)), set())
            c.check(not bad, f"ALLOWED but must be denied: {domain} -> {rule.target}:tun_socket"
                             f" {{ {' '.join(sorted(bad))} }} (rule: {rule})")


def check_api(c):
    """bulwark-api: a VM domain that is no device and holds nothing of its guest."""
    if API not in c.vm_domains:
        c.check(False, f"{API} is not in bulwark_vm_domain (bulwark_vm_domain_template(api))")
        return
    c.check(API not in c.device_domains, f"{API} is in bulwark_device_domain (it would get the devices' rules)")
    attributes = {str(a) for a in c.policy.lookup_type(API_SOCK).attributes()}
    c.check("bulwark_vm_object" in attributes, f"{API_SOCK} is not in bulwark_vm_object: another VM could reach it")
    for target in API_NEVER:
        for rule, perms in c.rules_of(API):
            if target in c.expand(rule.target):
                c.check(False, f"ALLOWED but must be denied: {API} -> {target}:{rule.tclass}"
                               f" {{ {' '.join(sorted(perms))} }} (rule: {rule})")
    for rule, perms in c.rules_of(API, {"unix_stream_socket", "unix_dgram_socket", "fd"}):
        tclass = str(rule.tclass)
        for target in sorted(c.expand(rule.target)):
            if target == API or (tclass == "fd" and target == LAUNCHER):
                continue
            bad = perms - API_SOCKET_PEERS.get((target, tclass), set())
            c.check(not bad, f"ALLOWED but must be denied: {API} -> {target}:{tclass} {{ {' '.join(sorted(bad))} }}"
                             f" (rule: {rule})")
    # No other VM domain on its socket file or connecting to it; the launcher makes, never connects.
    c.only({LAUNCHER}, API_SOCK, "sock_file", ["create", "write", "unlink", "setattr", "getattr"],
           "only the launcher and the operator's clients use the API socket file", among=c.bulwark_domains)
    c.only({API}, API, "unix_stream_socket", ["connectto", "accept"],
           "no other Bulwark domain connects to the API process", among=c.bulwark_domains)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    policy = setools.SELinuxPolicy(sys.argv[1])
    c = Checker(policy)

    c.check(policy.mls, "the policy is not MLS/MCS-enabled")
    type_names = {str(t) for t in policy.types()}
    for name in [LAUNCHER, "bulwark_launcher_exec_t"] + FILE_TYPES:
        c.check(name in type_names, f"type {name} is not declared")
    c.check(bool(c.vm_domains), "no type in bulwark_vm_domain")
    if c.failures:
        return 1
    print(f"per-VM domains (bulwark_vm_domain): {' '.join(c.vm_domains)};"
          f" devices (bulwark_device_domain): {' '.join(c.device_domains)}")

    check_domains_by_attribute(c)
    # Types any VM domain may write: none of them may be executed by a VM domain.
    writable = set()
    for domain in c.vm_domains:
        for rule, _ in c.rules_of(domain, FILE_CLASSES, {"write", "append", "create", "rename", "setattr"}):
            writable |= c.expand(rule.target)
    for domain in c.vm_domains:
        check_vm_domain(c, domain, writable)

    # /dev/kvm: among Bulwark domains only the monitor opens it.
    c.only({"bulwark_vm_t"}, "kvm_device_t", "chr_file", ["open", "read", "write", "ioctl"],
           "/dev/kvm is only the monitor's", among=c.bulwark_domains)
    c.check("bulwark_vm_t" in c.sources("kvm_device_t", "chr_file", ["open"]), "the monitor cannot open /dev/kvm")

    check_tap(c)
    check_api(c)

    # Images: read and written only by the blk process (and opened by the launcher, which
    # passes the fd and never maps it).
    c.only({"bulwark_dev_blk_t", LAUNCHER}, "bulwark_image_t", "file", ["read", "write", "append"],
           "images are only for the blk process", among=c.bulwark_domains)
    c.only(set(), "bulwark_image_t", "file", ["map"], "nobody in Bulwark maps an image", among=c.bulwark_domains)

    # Content is read-only for every Bulwark process.
    c.only(set(), "bulwark_content_t", "file", ["write", "append", "create", "unlink", "rename", "setattr"],
           "content is read-only", among=c.vm_domains)
    c.only({LAUNCHER}, "bulwark_content_t", "file", ["write", "append", "create", "unlink", "rename"],
           "content is read-only", among=c.bulwark_domains)

    # Nothing in Bulwark executes a writable type, run-time state, sockets, content, config.
    for target in ["bulwark_image_t", "bulwark_jail_t", "bulwark_var_run_t", "bulwark_vhost_sock_t",
                   "bulwark_vm_tmpfs_t", "bulwark_content_t", "bulwark_conf_t"]:
        c.only(set(), target, "file", ["execute", "execute_no_trans", "entrypoint", "execmod"],
               "never executable", among=c.bulwark_domains)

    # Only the launcher relabels, to or from any Bulwark type.
    others = set()
    entry_types = ["bulwark_launcher_exec_t"] + [d[:-2] + "_exec_t" for d in c.vm_domains]
    for target in FILE_TYPES + entry_types:
        for tclass in ["file", "dir", "sock_file", "lnk_file"]:
            found = c.only({LAUNCHER}, target, tclass, ["relabelfrom", "relabelto"],
                           "only the launcher relabels", among=c.bulwark_domains)
            others.update(s for s in found if not s.startswith("bulwark_"))

    # The launcher relabels to exactly Bulwark's labels and the image homes (to restore), and
    # from those only.
    relabelto, relabelfrom = {}, {}
    for rule, perms in c.rules_of(LAUNCHER, FILE_CLASSES, {"relabelto", "relabelfrom"}):
        for target in c.expand(rule.target):
            if "relabelto" in perms:
                relabelto.setdefault(target, str(rule))
            if "relabelfrom" in perms:
                relabelfrom.setdefault(target, str(rule))
    expected = BULWARK_LABELS | IMAGE_HOMES
    for what, found in (("to", relabelto), ("from", relabelfrom)):
        extra = sorted(set(found) - expected, key=lambda t: (t not in NEVER_RELABELTO, t))
        c.check(not extra, f"ALLOWED but must be denied: {LAUNCHER} may relabel {what} {len(extra)} types besides"
                           f" Bulwark's labels and the image homes: {', '.join(extra[:8])}"
                           f"{', ...' if len(extra) > 8 else ''} (rule: {found[extra[0]] if extra else ''})")
    for target in sorted(NEVER_RELABELTO & set(relabelto)):
        c.check(False, f"ALLOWED but must be denied: {LAUNCHER} may relabel to {target} (rule: {relabelto[target]})")
    for target in sorted(BULWARK_LABELS - set(relabelto)):
        c.check(False, f"the launcher cannot relabel to {target}")
    c.check(LAUNCHER in c.sources("bulwark_image_t", "file", ["relabelto"]), "the launcher cannot label images")

    # Within one VM: no ptrace or signal between its processes, none to the launcher.
    for source in c.vm_domains:
        for target in c.bulwark_domains:
            perms = ["ptrace", "signal", "sigkill", "sigstop"]
            if source != target:
                perms.append("signull")
            if source == target:
                perms = ["ptrace"]
            found = c.sources(target, "process", perms).get(source)
            c.check(found is None, f"ALLOWED but must be denied: {source} -> {target}:process"
                                   f" {{ {' '.join(perms)} }} (rule: {found})")

    print(f"policy structure: {c.assertions} assertions, {c.failures} failed"
          f" (outside Bulwark, {len(others)} administrative domains keep the base policy's relabel rights,"
          f" e.g. {', '.join(sorted(others)[:4])})")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
