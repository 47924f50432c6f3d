# bulwark-api's parsers of API client bytes (api/): one target per library, each linking only
# the parser it feeds.
if(TARGET bulwark_api_http)
  bulwark_fuzz_target(api_http_request
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/api_http_request_fuzzer.cc
    LIBS bulwark_api_http)
endif()
# The command channel between bulwark-api and the launcher (api/command): decode_command and
# decode_reply, each with a canonical round trip.
if(TARGET bulwark_api_command)
  bulwark_fuzz_target(api_command
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/api_command_fuzzer.cc
    LIBS bulwark_api_command)
endif()
# Firecracker's paths and bodies to commands (api/routes): route(), and for every command it
# makes, the codec round trip the launcher depends on.
if(TARGET bulwark_api_routes)
  bulwark_fuzz_target(api_route
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/api_route_fuzzer.cc
    LIBS bulwark_api_routes)
endif()
