// A one-screen register dump of a vCPU, printed when the guest ends abnormally.
#pragma once

#include <string>

#include "monitor/kvm/vcpu.h"

namespace bulwark::vmm {

std::string register_dump(const kvm::Vcpu& vcpu);

}  // namespace bulwark::vmm
