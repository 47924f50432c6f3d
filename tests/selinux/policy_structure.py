#!/usr/bin/python3
"""Type-level proofs about the Bulwark SELinux module in a compiled policy, with setools.

Usage: policy_structure.py POLICY_FILE

These are the rules an auditor would check with sesearch/seinfo: who may enter the per-VM
domains, who may use /dev/kvm, read or write images, execute or relabel Bulwark types. Each
query looks at every allow rule in the whole policy (attributes expanded), so a rule added
anywhere, not only in bulwark.te, that widens these is caught. Exit 1 when one fails.
"""
import sys

import setools

VM_DOMAINS = ["bulwark_vm_t", "bulwark_dev_blk_t", "bulwark_dev_rng_t", "bulwark_dev_net_t",
              "bulwark_dev_vsock_t"]
LAUNCHER = "bulwark_launcher_t"
BULWARK_DOMAINS = [LAUNCHER] + VM_DOMAINS
ENTRY_TYPES = {"bulwark_launcher_t": "bulwark_launcher_exec_t", "bulwark_vm_t": "bulwark_vm_exec_t",
               "bulwark_dev_blk_t": "bulwark_dev_blk_exec_t", "bulwark_dev_rng_t": "bulwark_dev_rng_exec_t",
               "bulwark_dev_net_t": "bulwark_dev_net_exec_t", "bulwark_dev_vsock_t": "bulwark_dev_vsock_exec_t"}
FILE_TYPES = ["bulwark_image_t", "bulwark_content_t", "bulwark_jail_t", "bulwark_var_run_t",
              "bulwark_vhost_sock_t", "bulwark_vm_tmpfs_t", "bulwark_conf_t"]
# Types a Bulwark process can write, or that hold run-time state and sockets: never executed.
NEVER_EXECUTED = ["bulwark_image_t", "bulwark_jail_t", "bulwark_var_run_t", "bulwark_vhost_sock_t",
                  "bulwark_vm_tmpfs_t", "bulwark_content_t", "bulwark_conf_t"]


class Checker:
    def __init__(self, policy):
        self.policy = policy
        self.assertions = 0
        self.failures = 0
        self.expanded = {}
        self.index_rules()

    def expand(self, type_or_attribute):
        name = str(type_or_attribute)
        if name not in self.expanded:
            self.expanded[name] = {str(t) for t in type_or_attribute.expand()}
        return self.expanded[name]

    def index_rules(self):
        """One pass over every rule (a query per check would take minutes): the allow rules
        whose target is a Bulwark type or /dev/kvm, directly or through an attribute, the
        entry points of Bulwark domains and the automatic transitions into them."""
        interesting = {t for t in self.policy.types() if str(t).startswith("bulwark_") or str(t) == "kvm_device_t"}
        covers = {}
        for t in interesting:
            covers.setdefault(str(t), set()).add(str(t))
            for attribute in t.attributes():
                covers.setdefault(str(attribute), set()).add(str(t))
        self.by_target = {}
        self.entrypoints = {}
        self.auto_transitions = []
        for rule in self.policy.terules():
            kind = rule.ruletype.name
            if kind == "allow":
                targets = covers.get(str(rule.target))
                if targets:
                    for target in targets:
                        self.by_target.setdefault((target, str(rule.tclass)), []).append(rule)
                if str(rule.tclass) == "file" and "entrypoint" in rule.perms:
                    for source in self.expand(rule.source):
                        if source.startswith("bulwark_"):
                            self.entrypoints.setdefault(source, set()).update(self.expand(rule.target))
            elif kind == "type_transition" and str(rule.default).startswith("bulwark_"):
                self.auto_transitions.append(rule)

    def sources(self, target, tclass, perms):
        """Every type (attributes expanded) allowed any of perms on target:tclass, and the rule."""
        found = {}
        for rule in self.by_target.get((target, tclass), []):
            if set(perms) & set(rule.perms):
                for source in self.expand(rule.source):
                    found.setdefault(source, str(rule))
        return found

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


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    policy = setools.SELinuxPolicy(sys.argv[1])
    c = Checker(policy)

    c.check(policy.mls, "the policy is not MLS/MCS-enabled")
    type_names = {str(t) for t in policy.types()}
    for name in BULWARK_DOMAINS + list(ENTRY_TYPES.values()) + FILE_TYPES:
        c.check(name in type_names, f"type {name} is not declared")
    if c.failures:
        return 1

    for domain in VM_DOMAINS:
        attributes = {str(a) for a in policy.lookup_type(domain).attributes()}
        c.check("mcs_constrained_type" in attributes, f"{domain} is not MCS-constrained (mcs_constrained)")
        c.check("bulwark_vm_domain" in attributes, f"{domain} is not in bulwark_vm_domain (bulwark_mcs.cil)")
        # Entered only from the launcher, only through its own entry file, never dynamically.
        c.only({LAUNCHER}, domain, "process", ["transition"], "domain transitions only from the launcher")
        c.only(set(), domain, "process", ["dyntransition"], "no dynamic transition into a VM domain")
        entries = c.entrypoints.get(domain, set())
        c.check(entries == {ENTRY_TYPES[domain]},
                f"{domain} may be entered from {sorted(entries)}, must be only {ENTRY_TYPES[domain]}")
        # Only the launcher's process may be the parent of a transition into a VM domain.
        trans = [str(rule) for rule in c.auto_transitions if str(rule.default) == domain]
        c.check(not trans, f"an automatic type_transition leads into {domain}: {trans}")

    # /dev/kvm: among Bulwark domains only the monitor opens it.
    c.only({"bulwark_vm_t"}, "kvm_device_t", "chr_file", ["open", "read", "write", "ioctl"],
           "/dev/kvm is only the monitor's", among=BULWARK_DOMAINS)
    c.check("bulwark_vm_t" in c.sources("kvm_device_t", "chr_file", ["open"]), "the monitor cannot open /dev/kvm")

    # Images: read and written only by the blk process (and opened by the launcher, which
    # passes the fd and never maps it).
    c.only({"bulwark_dev_blk_t", LAUNCHER}, "bulwark_image_t", "file", ["read", "write", "append"],
           "images are only for the blk process", among=BULWARK_DOMAINS)
    c.only(set(), "bulwark_image_t", "file", ["map"], "nobody in Bulwark maps an image", among=BULWARK_DOMAINS)

    # Content is read-only for every Bulwark process.
    c.only(set(), "bulwark_content_t", "file", ["write", "append", "create", "unlink", "rename", "setattr"],
           "content is read-only", among=VM_DOMAINS)
    c.only({LAUNCHER}, "bulwark_content_t", "file", ["write", "append", "create", "unlink", "rename"],
           "content is read-only", among=BULWARK_DOMAINS)

    # Nothing executes a writable type, run-time state or sockets.
    for target in NEVER_EXECUTED:
        c.only(set(), target, "file", ["execute", "execute_no_trans", "entrypoint", "execmod"],
               "never executable", among=BULWARK_DOMAINS)

    # Only the launcher relabels, to or from any Bulwark type.
    others = set()
    for target in FILE_TYPES + list(ENTRY_TYPES.values()):
        for tclass in ["file", "dir", "sock_file", "lnk_file"]:
            found = c.only({LAUNCHER}, target, tclass, ["relabelfrom", "relabelto"],
                           "only the launcher relabels", among=BULWARK_DOMAINS)
            others.update(s for s in found if not s.startswith("bulwark_"))
    c.check(LAUNCHER in c.sources("bulwark_image_t", "file", ["relabelto"]), "the launcher cannot label images")

    # Within one VM: no ptrace or signal between its processes, none to the launcher.
    for source in VM_DOMAINS:
        for target in BULWARK_DOMAINS:
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
