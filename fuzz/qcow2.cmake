# qcow2 images (devices/blk/qcow2, library bulwark_qcow2): the header, extensions, tables and
# reads of a tenant's image; and a sequence of guest operations on an image the target makes,
# checked against a model.
if(TARGET bulwark_qcow2)
  bulwark_fuzz_target(qcow2_open
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/qcow2_open_fuzzer.cc
    LIBS bulwark_qcow2)
  bulwark_fuzz_target(qcow2_ops
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/qcow2_ops_fuzzer.cc
    LIBS bulwark_qcow2)
endif()
