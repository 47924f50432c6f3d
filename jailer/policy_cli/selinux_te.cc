#include "jailer/policy_cli/selinux_te.h"

#include <algorithm>

namespace bulwark::policy_cli {

namespace {

struct Token {
  std::string text;
  int line = 0;
};

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '$' || c == '-' || c == '~' || c == '*';
}

// Words and the punctuation that matters ({ } : ; ( ) ,); m4 quotes and comments dropped.
std::vector<Token> tokenize(std::string_view text) {
  std::vector<Token> tokens;
  int line = 1;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
    } else if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (is_word_char(c)) {
      size_t end = i;
      while (end < text.size() && is_word_char(text[end])) ++end;
      tokens.push_back({std::string(text.substr(i, end - i)), line});
      i = end;
    } else {
      if (c == '{' || c == '}' || c == ':' || c == ';' || c == '(' || c == ')' || c == ',') {
        tokens.push_back({std::string(1, c), line});
      }
      ++i;
    }
  }
  return tokens;
}

// Reads a single name or a `{ a b c }` set starting at tokens[i]; advances i past it.
bool read_set(const std::vector<Token>& tokens, size_t& i, std::set<std::string>& out) {
  if (i >= tokens.size()) return false;
  if (tokens[i].text != "{") {
    if (!is_word_char(tokens[i].text[0])) return false;
    out.insert(tokens[i++].text);
    return true;
  }
  ++i;
  while (i < tokens.size() && tokens[i].text != "}") {
    if (tokens[i].text == ";") return false;
    if (tokens[i].text != ",") out.insert(tokens[i].text);
    ++i;
  }
  if (i >= tokens.size()) return false;
  ++i;  // past '}'
  return !out.empty();
}

// Structural m4 / reference-policy words whose parenthesised body holds statements to scan,
// not an interface call to list.
bool is_structural(const std::string& word) {
  static const std::set<std::string> kWords = {
      "policy_module", "gen_require", "optional_policy", "ifdef", "ifndef", "tunable_policy",
      "gen_tunable", "gen_bool", "interface", "template", "require", "ifelse", "define"};
  return kWords.count(word) != 0;
}

// `allow S T:C P;`, or with `ioctl` (allowxperm) `allowxperm S T:C ioctl CMDS;`.
void parse_allow(const std::vector<Token>& tokens, size_t& i, const std::string& file,
                 TeModule& module, bool ioctl_xperm) {
  AllowRule rule;
  rule.file = file;
  rule.line = tokens[i].line;
  size_t j = i + 1;
  const bool ok = read_set(tokens, j, rule.sources) && read_set(tokens, j, rule.targets) &&
                  j < tokens.size() && tokens[j++].text == ":" &&
                  read_set(tokens, j, rule.classes) &&
                  (!ioctl_xperm || (j < tokens.size() && tokens[j++].text == "ioctl")) &&
                  read_set(tokens, j, rule.perms) && j < tokens.size() && tokens[j].text == ";";
  if (ok) {
    (ioctl_xperm ? module.ioctl_allows : module.allows).push_back(std::move(rule));
    i = j + 1;
  } else {
    ++i;  // not a statement we understand (e.g. inside a macro definition): skip the word
  }
}

// `type T, a, b;` or `typeattribute T a, b;`
void parse_type_attributes(const std::vector<Token>& tokens, size_t& i, TeModule& module) {
  const bool is_type = tokens[i].text == "type";
  size_t j = i + 1;
  if (j >= tokens.size() || !is_word_char(tokens[j].text[0])) {
    ++i;
    return;
  }
  const std::string type = tokens[j++].text;
  if (is_type) {
    if (j >= tokens.size() || tokens[j].text != ",") {
      i = j;
      return;
    }
    ++j;
  }
  while (j < tokens.size() && tokens[j].text != ";") {
    if (tokens[j].text == "alias") break;
    if (tokens[j].text != "," && is_word_char(tokens[j].text[0])) {
      module.attributes_of[type].insert(tokens[j].text);
    }
    ++j;
  }
  i = j;
}

// Bulwark's own domain templates (bulwark.if) declare bulwark_PREFIX_t in these attributes: noted,
// so the rules the module gives an attribute (bulwark_vm_domain's jail and own-socket rules) are
// listed for each domain the templates declare.
void note_template_domain(const InterfaceCall& call, TeModule& module) {
  static const std::map<std::string, std::vector<std::string>> kTemplates = {
      {"bulwark_vm_domain_template", {"bulwark_vm_domain"}},
      {"bulwark_device_domain_template", {"bulwark_vm_domain", "bulwark_device_domain"}}};
  const auto found = kTemplates.find(call.text.substr(0, call.text.find('(')));
  if (found == kTemplates.end() || call.arguments.size() != 1) return;
  module.attributes_of["bulwark_" + call.arguments[0] + "_t"].insert(found->second.begin(), found->second.end());
}

void parse_call(const std::vector<Token>& tokens, size_t& i, const std::string& file,
                TeModule& module) {
  InterfaceCall call;
  call.file = file;
  call.line = tokens[i].line;
  call.text = tokens[i].text + "(";
  size_t j = i + 2;
  int depth = 1;
  bool need_space = false;
  while (j < tokens.size() && depth > 0) {
    const std::string& t = tokens[j].text;
    if (t == "(") ++depth;
    if (t == ")") --depth;
    if (depth == 0) break;
    if (is_word_char(t[0])) {
      call.arguments.push_back(t);
      if (need_space) call.text += " ";
      need_space = true;
    } else {
      need_space = t == ",";
    }
    call.text += t;
    ++j;
  }
  call.text += ")";
  note_template_domain(call, module);
  module.calls.push_back(std::move(call));
  i = j + 1;
}

std::set<std::string> names_of(const TeModule& module, const std::string& domain) {
  std::set<std::string> names = {domain};
  const auto found = module.attributes_of.find(domain);
  if (found != module.attributes_of.end()) names.insert(found->second.begin(), found->second.end());
  return names;
}

}  // namespace

void parse_te_text(std::string_view text, const std::string& file, TeModule& module) {
  const std::vector<Token> tokens = tokenize(text);
  size_t i = 0;
  while (i < tokens.size()) {
    const std::string& word = tokens[i].text;
    if (word == "allow" || word == "allowxperm") {
      parse_allow(tokens, i, file, module, word == "allowxperm");
    } else if (word == "type" || word == "typeattribute") {
      parse_type_attributes(tokens, i, module);
    } else if (is_word_char(word[0]) && i + 1 < tokens.size() && tokens[i + 1].text == "(") {
      if (is_structural(word)) {
        i += 2;  // scan the body
      } else {
        parse_call(tokens, i, file, module);
      }
    } else {
      ++i;
    }
  }
}

namespace {

std::vector<DomainAccess> merged_access(const std::vector<AllowRule>& rules, const TeModule& module,
                                        const std::string& domain) {
  const std::set<std::string> names = names_of(module, domain);
  std::map<std::tuple<std::string, std::string, std::string>, std::set<std::string>> merged;
  for (const AllowRule& rule : rules) {
    for (const std::string& source : rule.sources) {
      if (names.count(source) == 0) continue;
      const std::string via = source == domain ? "" : source;
      for (const std::string& target : rule.targets) {
        for (const std::string& object_class : rule.classes) {
          merged[{target, object_class, via}].insert(rule.perms.begin(), rule.perms.end());
        }
      }
    }
  }
  std::vector<DomainAccess> out;
  for (const auto& [key, perms] : merged) {
    out.push_back({std::get<0>(key), std::get<1>(key), perms, std::get<2>(key)});
  }
  return out;
}

}  // namespace

std::vector<DomainAccess> domain_access(const TeModule& module, const std::string& domain) {
  return merged_access(module.allows, module, domain);
}

std::vector<DomainAccess> domain_ioctl_commands(const TeModule& module, const std::string& domain) {
  return merged_access(module.ioctl_allows, module, domain);
}

std::vector<const InterfaceCall*> domain_calls(const TeModule& module, const std::string& domain) {
  const std::set<std::string> names = names_of(module, domain);
  std::vector<const InterfaceCall*> out;
  for (const InterfaceCall& call : module.calls) {
    const bool mentions = std::any_of(call.arguments.begin(), call.arguments.end(),
                                      [&](const std::string& a) { return names.count(a) != 0; });
    if (mentions) out.push_back(&call);
  }
  return out;
}

std::set<std::string> te_statements(const TeModule& module) {
  std::set<std::string> out;
  for (const AllowRule& rule : module.allows) {
    for (const std::string& s : rule.sources) {
      for (const std::string& t : rule.targets) {
        for (const std::string& c : rule.classes) {
          for (const std::string& p : rule.perms) out.insert("allow " + s + " " + t + ":" + c + " " + p);
        }
      }
    }
  }
  for (const AllowRule& rule : module.ioctl_allows) {
    for (const std::string& s : rule.sources) {
      for (const std::string& t : rule.targets) {
        for (const std::string& c : rule.classes) {
          for (const std::string& p : rule.perms) out.insert("allowxperm " + s + " " + t + ":" + c + " ioctl " + p);
        }
      }
    }
  }
  for (const InterfaceCall& call : module.calls) out.insert("call " + call.text);
  return out;
}

}  // namespace bulwark::policy_cli
