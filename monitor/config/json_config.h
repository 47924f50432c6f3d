// The VM config file: JSON, written by the tenant, so every byte is untrusted. The shape (names
// match the long command-line flags, '_' for '-'):
//
//   {
//     "kernel": "vmlinux",             string, required (unless the command line gives --kernel)
//     "initrd": "initrd.img",          string, optional, "" = none
//     "cmdline": "console=ttyS0",      string, optional
//     "memory_mib": 512,               integer 16 .. 1048576, optional (default 256)
//     "vcpus": 2,                      integer 1 .. 64, optional (default 1)
//     "cpu_template": "default",       string, optional
//     "serial": {                      object, optional
//       "kind": "stdout",              "stdout" | "file" | "none", optional (default "stdout")
//       "path": "console.log",         string, required iff kind is "file"
//       "input": true                  boolean, optional (default true)
//     },
//     "emulated_host_quirks": "auto",  "auto" | "on" | "off", optional (default "auto")
//     "seccomp": "enforce",            "enforce" | "log" | "off", optional (default "enforce")
//     "seccomp_policy_dir": "",        string, optional
//     "devices": [                     array of at most 18, optional (default none)
//       {"type": "vhost-user-blk",     "vhost-user-blk" | "vhost-user-rng" | "vhost-user-net" |
//                                      "vhost-user-vsock",
//                                      required
//        "socket": "/run/blk.sock"},   a unix socket path the monitor connects to, or
//       {"type": "vhost-user-rng",
//        "socket_fd": 4}               an inherited, connected socket (3 .. 1048575);
//     ]                                exactly one of socket and socket_fd
//   }
//
// Unknown fields, duplicate keys and wrong types at any level are errors that name the JSON
// pointer of the field: `config: /vcpus: expected an integer from 1 to 64, got "two"`.
#pragma once

#include <string>
#include <string_view>

#include "bulwark/common/result.h"
#include "monitor/config/vm_config.h"

namespace bulwark::config {

// A complete config: "kernel" is required and the result passes validate_vm_config().
// Errors start with "config: ".
Result<VmConfig> parse_vm_config_json(std::string_view text);

struct JsonConfigOptions {
  std::string_view source = "config";  // error prefix, e.g. "config file vm.json"
  bool require_kernel = true;          // false: the command line may still supply it
};
Result<VmConfig> parse_vm_config_json(std::string_view text, const JsonConfigOptions& options);

// Every field, in the documented order; parse_vm_config_json(to_json(c)) == c for any config
// that passes validate_vm_config() and whose strings are valid UTF-8 (JSON cannot carry other
// bytes: invalid sequences become U+FFFD).
std::string to_json(const VmConfig& config);

}  // namespace bulwark::config
