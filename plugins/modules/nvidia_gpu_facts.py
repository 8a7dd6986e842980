#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpu_spark.cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nvidia_gpu_facts
short_description: Report the host's NVIDIA GPUs, driver and MIG devices as facts
version_added: 0.1.0
description:
  - Scans O(pci_devices_path) for NVIDIA display controllers (PCI vendor C(0x10de),
    class C(0x03xxxx)), which finds GPUs even before a driver is installed.
  - When C(nvidia-smi) exists, runs C(nvidia-smi --query-gpu=index,uuid,name,memory.total,driver_version,pci.bus_id
    --format=csv,noheader,nounits), C(nvidia-smi -L) for MIG devices and a plain C(nvidia-smi)
    for the CUDA version, and reports each GPU's index, UUID, name and memory.
  - A driver that does not answer (for example C(NVIDIA-SMI has failed because it couldn't
    communicate with the NVIDIA driver)) is reported in RV(ansible_facts.nvidia_gpu.error)
    and does not make the module fail, so that a role can decide what to do with it.
  - The module changes nothing on the host.
author:
  - gpu_spark.cluster maintainers (@gpu-spark)
options:
  nvidia_smi_path:
    description:
      - Path of the C(nvidia-smi) program to run.
      - When not set, C(nvidia-smi) is looked up on E(PATH) and in C(/usr/bin) and C(/usr/sbin).
        If it is not found, only the PCI scan runs.
      - When set to a path that does not exist, the module fails.
    type: path
  pci_devices_path:
    description:
      - Folder with one entry per PCI device, each holding C(vendor) and C(class) files.
    type: path
    default: /sys/bus/pci/devices
notes:
  - RV(ansible_facts.nvidia_gpu.present) is true when the PCI scan finds an NVIDIA GPU or
    the driver lists one. The second case covers hosts whose C(/sys) shows no PCI devices,
    such as some virtual machines and containers.
  - NVIDIA HDMI audio functions and NVSwitch bridges carry the same PCI vendor id and are
    not counted as GPUs.
attributes:
  check_mode:
    description: Whether the module can run in check mode.
    support: full
    details: The module only reads, so it runs the same in check mode.
  diff_mode:
    description: Whether the module returns a before and after view of its changes under C(--diff).
    support: none
  facts:
    description: Whether the module returns facts.
    support: full
  platform:
    description: The target systems the module runs on.
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Read the GPU facts with nvidia-smi from PATH
  gpu_spark.cluster.nvidia_gpu_facts:

- name: Fail when the host has a GPU but no working driver
  ansible.builtin.assert:
    that: not nvidia_gpu.present or nvidia_gpu.driver_loaded
    fail_msg: "NVIDIA GPU at {{ nvidia_gpu.pci_devices | join(', ') }} but no working driver: {{ nvidia_gpu.error }}"

- name: Read the GPU facts from the GPU test double's fake nvidia-smi
  gpu_spark.cluster.nvidia_gpu_facts:
    nvidia_smi_path: /opt/gpu-spark-test-double/bin/nvidia-smi
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    nvidia_gpu:
      description: The host's NVIDIA GPUs and driver state.
      returned: always
      type: dict
      contains:
        present:
          description: Whether the host has at least one NVIDIA GPU.
          type: bool
          sample: true
        pci_devices:
          description: PCI addresses of NVIDIA display controllers found in O(pci_devices_path).
          type: list
          elements: str
          sample: ["0000:07:00.0"]
        nvidia_smi_path:
          description: The C(nvidia-smi) that was run, or null when none was found.
          type: str
          sample: /usr/bin/nvidia-smi
        driver_loaded:
          description: Whether C(nvidia-smi) reached the driver. True also when the driver
            reports C(No devices were found).
          type: bool
          sample: true
        driver_version:
          description: Driver version, or null without a working driver.
          type: str
          sample: 535.104.05
        cuda_version:
          description: Highest CUDA version the driver supports, from the C(nvidia-smi) banner,
            or null when the banner has none.
          type: str
          sample: "12.2"
        gpus:
          description: One entry per GPU the driver reports, sorted by index.
          type: list
          elements: dict
          contains:
            index:
              description: GPU index as C(nvidia-smi) numbers it.
              type: int
            uuid:
              description: GPU UUID.
              type: str
            name:
              description: Product name.
              type: str
            memory_total_mib:
              description: Total memory in MiB, or null where the driver reports C([N/A]).
              type: int
            pci_bus_id:
              description: PCI bus id as C(nvidia-smi) prints it.
              type: str
          sample:
            - index: 0
              uuid: GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77
              name: NVIDIA A100-SXM4-40GB
              memory_total_mib: 40960
              pci_bus_id: "00000000:07:00.0"
        mig_devices:
          description: MIG devices from C(nvidia-smi -L), empty when MIG is off.
          type: list
          elements: dict
          contains:
            gpu_index:
              description: Index of the GPU that contains the MIG device.
              type: int
            gpu_uuid:
              description: UUID of that GPU.
              type: str
            index:
              description: MIG device index on its GPU.
              type: int
            profile:
              description: MIG profile, such as C(1g.5gb).
              type: str
            uuid:
              description: MIG device UUID, usable in C(NVIDIA_VISIBLE_DEVICES).
              type: str
        error:
          description: Why no GPU list is available (driver failure, no C(nvidia-smi),
            no devices), or null.
          type: str
          sample: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gpu_spark.cluster.plugins.module_utils.nvidia_gpu import (
    QUERY_GPU_ARGS,
    NvidiaSmiOutputError,
    build_facts,
    scan_pci_devices,
)


def find_nvidia_smi(module: AnsibleModule) -> str | None:
    requested = module.params["nvidia_smi_path"]
    if requested:
        if not os.access(requested, os.X_OK):
            module.fail_json(
                msg=f"nvidia_smi_path {requested} does not exist or is not executable; "
                    "give the path of nvidia-smi or leave the option unset to search PATH",
            )
        return requested
    return module.get_bin_path("nvidia-smi", opt_dirs=["/usr/bin", "/usr/sbin"])


def run_smi(module: AnsibleModule, smi_path: str, args: list[str]) -> tuple[int, str, str]:
    # A C locale keeps the messages matched by the parser in English.
    rc, stdout, stderr = module.run_command([smi_path, *args], environ_update={"LC_ALL": "C"})
    return rc, stdout, stderr


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "nvidia_smi_path": {"type": "path"},
            "pci_devices_path": {"type": "path", "default": "/sys/bus/pci/devices"},
        },
        supports_check_mode=True,
    )

    pci_devices = scan_pci_devices(module.params["pci_devices_path"])
    smi_path = find_nvidia_smi(module)
    query = listing = header = None
    if smi_path:
        query = run_smi(module, smi_path, QUERY_GPU_ARGS)
        listing = run_smi(module, smi_path, ["-L"])
        header = run_smi(module, smi_path, [])

    try:
        facts = build_facts(pci_devices, smi_path, query, listing, header)
    except NvidiaSmiOutputError as error:
        module.fail_json(
            msg=f"cannot parse the output of {smi_path}: {error}",
            cmd=[smi_path, *QUERY_GPU_ARGS], rc=query[0], stdout=query[1], stderr=query[2],
        )

    module.exit_json(changed=False, ansible_facts={"nvidia_gpu": facts})


if __name__ == "__main__":
    main()
