// A deliberately small reader of SELinux type-enforcement (.te) text for audit listings: it
// finds `allow SRC TGT:CLASS PERMS;` and `allowxperm SRC TGT:CLASS ioctl CMDS;` statements (brace
// sets expanded), the attributes each type
// is given (`type T, a;` and `typeattribute T a;`) and reference-policy interface calls such as
// `kernel_read_system_state(bulwark_vm_t)`, which it keeps as written. It does not expand m4
// macros or interfaces: a listing says so rather than guessing what they grant. Of Bulwark's own
// templates it knows only which attributes they give the domain they declare
// (`bulwark_vm_domain_template(api)`: bulwark_api_t in bulwark_vm_domain).
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::policy_cli {

struct AllowRule {
  std::set<std::string> sources;
  std::set<std::string> targets;
  std::set<std::string> classes;
  std::set<std::string> perms;  // permission names or permission-set macros (rw_file_perms)
  std::string file;
  int line = 0;
};

struct InterfaceCall {
  std::string text;  // "kernel_read_system_state(bulwark_vm_t)", whitespace collapsed
  std::vector<std::string> arguments;
  std::string file;
  int line = 0;
};

struct TeModule {
  std::vector<AllowRule> allows;
  // `allowxperm SRC TGT:CLASS ioctl { 0x54d0 ... }`: perms holds the commands as written. Once a
  // source, target and class have one, the kernel refuses every ioctl command none of them lists.
  std::vector<AllowRule> ioctl_allows;
  std::vector<InterfaceCall> calls;
  std::map<std::string, std::set<std::string>> attributes_of;  // type -> its attributes
};

// Adds what `text` (the contents of `file`) declares to `module`.
void parse_te_text(std::string_view text, const std::string& file, TeModule& module);

// One permission the domain has on a target class, e.g. {"bulwark_image_t", "file", "read"}.
struct DomainAccess {
  std::string target;
  std::string object_class;
  std::set<std::string> perms;
  std::string via;  // "" when the rule names the domain itself, else the attribute it names
};

// What `domain` may access: allow rules whose source is the domain or one of its attributes,
// merged per target and class; and the interface calls that take the domain as an argument.
std::vector<DomainAccess> domain_access(const TeModule& module, const std::string& domain);
std::vector<const InterfaceCall*> domain_calls(const TeModule& module, const std::string& domain);
// The ioctl commands the allowxperm rules limit `domain` to, merged per target and class (perms:
// the commands).
std::vector<DomainAccess> domain_ioctl_commands(const TeModule& module, const std::string& domain);

// Every allow permission as one "allow SRC TGT:CLASS PERM" string, every allowxperm command as
// "allowxperm SRC TGT:CLASS ioctl CMD" and every interface call as "call TEXT": the unit
// `bulwark policy diff` compares.
std::set<std::string> te_statements(const TeModule& module);

}  // namespace bulwark::policy_cli
