// Text bulwark-api chose (ids, states, fault messages, metrics, policy strings), made safe for
// the operator's terminal: the API process may be compromised and must not be able to send
// escape sequences, fake lines or invalid UTF-8 through this root-run tool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bulwark::vm_cli {

// config::printable_text (control characters as \n, \t, \xNN; invalid UTF-8 as \xNN), with the
// C1 controls U+0080..U+009F as \u0080..\u009f too (some terminals obey them like ESC [), and
// no length cut unless max_bytes says so.
std::string terminal_text(std::string_view text, size_t max_bytes = SIZE_MAX);

}  // namespace bulwark::vm_cli
