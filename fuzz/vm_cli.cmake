# `bulwark vm`'s parsers of bulwark-api's answers (jailer/vm_cli, library bulwark_api_response):
# HTTP response framing, JSON bodies, Prometheus text.
if(TARGET bulwark_api_response)
  bulwark_fuzz_target(api_http_response
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/api_http_response_fuzzer.cc
    LIBS bulwark_api_response)
endif()
