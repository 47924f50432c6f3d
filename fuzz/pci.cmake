# PCI bus, MSI-X and the virtio-pci transport (monitor/pci, monitor/virtio_pci): every
# register a hostile guest driver can reach through 0xCF8/0xCFC or a BAR.
bulwark_fuzz_target(pci_config
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/pci_config_fuzzer.cc
  LIBS bulwark_pci)
bulwark_fuzz_target(msix_table
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/msix_table_fuzzer.cc
  LIBS bulwark_pci)
bulwark_fuzz_target(virtio_pci_common_cfg
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/virtio_pci_common_cfg_fuzzer.cc
  LIBS bulwark_virtio_pci)
