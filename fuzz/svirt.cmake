# Reservation records: lock files under /run/bulwark/{ids,mcs}/ say which launcher holds a uid
# or an MCS pair; a crashed launcher or a local writer can leave anything in them.
if(NOT TARGET bulwark_host_reservation)
  # Until jailer/CMakeLists.txt adds jailer/ids itself.
  add_subdirectory(${PROJECT_SOURCE_DIR}/jailer/ids ${PROJECT_BINARY_DIR}/jailer-ids-via-fuzz)
endif()
bulwark_fuzz_target(reservation_record
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/reservation_record_fuzzer.cc
  LIBS bulwark_host_reservation)

# Label memory records (trusted.bulwark.label on a tenant's file, jailer/svirt/label_record.h): the
# parser is its own library without system dependencies.
if(NOT TARGET bulwark_label_record)
  add_subdirectory(${PROJECT_SOURCE_DIR}/jailer/svirt ${PROJECT_BINARY_DIR}/jailer-svirt-via-fuzz)
endif()
bulwark_fuzz_target(label_memory_record
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/label_memory_record_fuzzer.cc
  LIBS bulwark_label_record)
