# virtio-vsock's guest- and client-facing parsers (devices/vsock, library bulwark_vsock_proto):
# the guest packet header with the connection state machine and credit, and the host
# client's CONNECT line (Firecracker's hybrid vsock).
if(TARGET bulwark_vsock_proto)
  bulwark_fuzz_target(vsock_packet
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/vsock_packet_fuzzer.cc
    LIBS bulwark_vsock_proto)
  bulwark_fuzz_target(vsock_connect_line
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/vsock_connect_line_fuzzer.cc
    LIBS bulwark_vsock_proto)
endif()
