// The jail's directory on the host: <base>/<id>/root, owned by the VM's uid, mode 0700, with
// the mount points, symlinks and generated files the spec names. Everything made below <base>
// carries spec.create_label from its creation (sVirt: the jail type at the VM's pair, set with
// setfscreatecon around each mkdir/open/symlink; jailer/svirt/jail_labels.h), never relabelled
// by path afterwards. The mounts themselves are made by the jailed child in its private mount
// namespace (jail_child.h), so they vanish with it.
#pragma once

#include <string>

#include "bulwark/common/result.h"
#include "jailer/jail_spec.h"

namespace bulwark::jail {

// <base>/<id>: created by create_jail_dir (refused if it exists), removed by remove_tree.
std::string jail_instance_dir(const JailSpec& spec);
std::string jail_root_dir(const JailSpec& spec);

// Creates <base> if missing (root, 0755), then <base>/<id> (root, 0700) and the root.
Status create_jail_dir(const JailSpec& spec);
// Mount points for every input, /dev, symlinks and generated files inside the root.
Status populate_jail_dir(const JailSpec& spec);
// Removes a directory tree without following symlinks or crossing into other mounts.
Status remove_tree(const std::string& path);

}  // namespace bulwark::jail
