// The little AML the monitor's DSDT needs: names, integers, strings, buffers, Scope and Device,
// and the one resource descriptor the TPM uses. Encodings from the ACPI specification
// (chapter 20, "ACPI Machine Language Specification"; 6.4 for resource descriptors).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace bulwark::acpi::aml {

using Bytes = std::vector<uint8_t>;

// A PkgLength for `body_size` bytes that follow it (the encoding counts its own bytes).
Bytes package_length(size_t body_size);
// A 4-character NameSeg, shorter names padded with '_'. `name` is 1..4 of A-Z, 0-9, _.
Bytes name_seg(std::string_view name);
Bytes integer(uint64_t value);  // the smallest of Zero/One/Byte/Word/DWord/QWord
Bytes string(std::string_view text);
Bytes buffer(const Bytes& contents);
Bytes name(std::string_view seg, const Bytes& object);
// Scope(path) / Device(name) around `body`; `path` is a NameString such as "\\_SB_".
Bytes scope(std::string_view path, const Bytes& body);
Bytes device(std::string_view seg, const Bytes& body);
// ResourceTemplate(){ Memory32Fixed(ReadWrite or ReadOnly, base, length) } with its end tag.
Bytes memory32_fixed_template(bool writable, uint32_t base, uint32_t length);

}  // namespace bulwark::acpi::aml
