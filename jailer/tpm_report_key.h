// The host's attestation key (issue 16), the operator's: the PEM ECDSA P-384 private key file
// the host config's "tpm": {"report_key"} names, read by the launcher (root) to sign each
// measured launch's report. It must be root's and readable by root alone: a regular file (not
// followed if a symlink), owned by uid 0, no group or other permission bits (0600 or 0400).
// Anything else is refused naming the field, before any VM process starts.
#pragma once

#include <string>

#include "bulwark/common/result.h"

namespace bulwark::jail {

// The key's PEM text, checked to be a P-384 private key. `field` names it in errors
// ("host config /tpm/report_key").
Result<std::string> read_report_key(const std::string& path, const std::string& field);

}  // namespace bulwark::jail
