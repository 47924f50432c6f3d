// command_name(): the struct name of a command, for the launcher's and bulwark-api's logs.
#include "api/command/command.h"
#include "api/command/command_schema.h"

namespace bulwark::api {

const char* command_name(const Command& command) {
  return std::visit([](const auto& c) { return wire::Schema<std::decay_t<decltype(c)>>::kName; },
                    command);
}

}  // namespace bulwark::api
