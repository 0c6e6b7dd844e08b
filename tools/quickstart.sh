#!/usr/bin/env bash
# Installs what minivmm needs, builds it, fetches/builds the guest images and boots the default
# Linux guest (kernel + the project's initramfs) to an interactive busybox shell on the serial
# console. Quit the console with Ctrl-A x; `exit` in the shell powers the guest off.
#
# Usage: tools/quickstart.sh [--minimal-kernel | --debian-kernel] [--timeout SECONDS]
#   default kernel: the project's minimal kernel (vmlinux via PVH) when it is already in the cache;
#                   else Debian's cloud kernel (its ELF vmlinux via PVH) on hardware KVM, and the
#                   minimal kernel (built first: 4-8 minutes) on software KVM, where Debian's kernel
#                   cannot get as far as `Run /init`.
#   --minimal-kernel   use the minimal kernel, building it first if needed
#   --debian-kernel    use Debian's cloud kernel even when the minimal kernel is cached
#   --timeout SECONDS  end the guest after SECONDS (default: none on a terminal; when stdin is not
#                      a terminal, a timeout that covers the boot, so CI-like runs cannot hang)
#
# On a host whose KVM is software-emulated (the kvm_pvm module, no vmx/svm in /proc/cpuinfo)
# every guest kernel instruction is emulated: the kernel takes minutes to boot, and guest user
# space cannot run at all, so there is no shell: the kernel reaches `Run /init`, init dies at its
# first system call and the kernel panics; minivmm then exits 121. The script says so first.
set -euo pipefail
cd "$(dirname "$0")/.."

choice=auto
timeout=
while [[ $# -gt 0 ]]; do
    case "$1" in
        --minimal-kernel) choice=minimal ;;
        --debian-kernel) choice=debian ;;
        --timeout) timeout=${2:?--timeout needs a number of seconds}; shift ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "quickstart: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
say() { echo "quickstart: $*" >&2; }

./tools/install-deps.sh
./tools/build.sh build

# Is the minimal kernel already built? The same cache key as guest-images/linux/build-minimal-kernel.sh
# computes (its inputs and the installed linux-source-6.1 version); if the two ever disagree this
# only means the Debian kernel is chosen by default.
minimal_kernel_cached() {
    local here=guest-images/linux ver key
    ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) || return 1
    key=$( { cat "$here/minimal.config" "$here/build-minimal-kernel.sh"; cat "$here"/patches/*.patch
             echo "linux-source-6.1=$ver"; } | sha256sum | cut -c1-16)
    [[ -f ${MINIVMM_CACHE:-$HOME/.cache/minivmm}/minimal-kernel-$key/vmlinux ]]
}
software_kvm=0
if [[ -e /sys/module/kvm_pvm ]] || ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
    software_kvm=1
fi
# The default: the minimal kernel when it is cached. Otherwise Debian's on hardware KVM (it boots
# in seconds there, no build needed), but the minimal kernel on software KVM: Debian's kernel
# stops there before `Run /init` (the host cannot emulate its in-kernel `ldmxcsr`), so a 4-8
# minute build is the only way to see a Linux boot get that far.
if [[ $choice == auto ]]; then
    if minimal_kernel_cached; then choice=minimal
    elif [[ $software_kvm -eq 1 ]]; then
        choice=minimal
        say "the minimal kernel is not cached: building it (4-8 minutes; Debian's kernel cannot reach 'Run /init' on software KVM)"
    else choice=debian; fi
fi

say "guest images (guest-images/build-all.sh; downloads Debian's kernel once, cached under ~/.cache/minivmm)"
[[ $choice == minimal ]] && say "the minimal kernel is built if it is not cached yet (4-8 minutes on 2 cores)"
declare -A image=()
build_all_flags=()
[[ $choice == minimal ]] && build_all_flags+=(--minimal-kernel)
while IFS='=' read -r name path; do
    [[ -n $name ]] && image[$name]=$path
done < <(guest-images/build-all.sh "${build_all_flags[@]}")
initrd=${image[initramfs]:?build-all.sh printed no initramfs}
if [[ $choice == minimal ]]; then
    kernel=${image[minimal_vmlinux]:?build-all.sh printed no minimal_vmlinux}
    name="the project's minimal kernel (vmlinux via PVH)"
else
    kernel=${image[debian_vmlinux]:?build-all.sh printed no debian_vmlinux}
    name="Debian's cloud kernel (vmlinux via PVH)"
fi

if [[ $software_kvm -eq 1 ]]; then
    # guest-images/README.md, "Recommended kernel command lines" (software-emulated KVM). minivmm's
    # software-kvm CPU template adds the clearcpuid= part itself.
    cmdline="console=ttyS0 earlyprintk=serial,ttyS0 8250.nr_uarts=1 tsc=reliable no_timer_check noreplace-smp rcupdate.rcu_expedited=1 mitigations=off reboot=k"
    if [[ $choice == minimal ]]; then
        expect="takes about 15 s to 1 minute (more on a busy host) to reach 'Run /init'."
        boot_timeout=600
    else
        expect="runs for 1-5 minutes and then stops BEFORE 'Run /init': the host cannot emulate an
quickstart:   instruction it uses (ldmxcsr, at its first in-kernel FPU use); --minimal-kernel gets further."
        boot_timeout=900
    fi
    cat >&2 <<EOF

quickstart: NOTE: this host's KVM is software-emulated ($( [[ -e /sys/module/kvm_pvm ]] && echo "kvm_pvm module" || echo "no vmx/svm in /proc/cpuinfo")):
quickstart:   every guest kernel instruction is emulated by the host, so $name
quickstart:   $expect
quickstart:   Guest user space cannot run on such a host, so the shell will NOT start: init dies
quickstart:   at its first system call and the kernel panics ("Attempted to kill init!");
quickstart:   minivmm then exits with status 121. A shell needs hardware KVM (vmx/svm).
quickstart:   The boot log follows as it happens.

EOF
else
    cmdline="console=ttyS0 reboot=k tsc=reliable no_timer_check rcupdate.rcu_expedited=1 8250.nr_uarts=1"
    boot_timeout=300
fi

args=(run --kernel "$kernel" --initrd "$initrd" --memory 512M --cmdline "$cmdline")
if [[ -z $timeout && ! -t 0 ]]; then
    timeout=$boot_timeout
    say "stdin is not a terminal: the guest gets --timeout $timeout (no shell to type into; the guest's shell sees end of input and powers off)"
fi
[[ -n $timeout ]] && args+=(--timeout "$timeout")

say "booting $name: build/minivmm ${args[*]}"
[[ -t 0 ]] && say "Ctrl-A x quits the console; 'exit' in the guest's shell powers it off"
status=0
reached_init=0
if [[ $software_kvm -eq 1 ]]; then
    # Keep a copy of the console to tell the expected end (init started, then the panic) from a
    # boot that failed earlier.
    console_log=$(mktemp)
    trap 'rm -f "$console_log"' EXIT
    set +e
    build/minivmm "${args[@]}" | tee "$console_log"
    status=${PIPESTATUS[0]}
    set -e
    grep -q "Run /init as init process" "$console_log" && reached_init=1
else
    build/minivmm "${args[@]}" || status=$?
fi

case $status in
    0) say "the guest powered off cleanly (status 0)" ;;
    121) if [[ $software_kvm -eq 1 && $reached_init -eq 1 ]]; then
             say "the kernel reached 'Run /init', as far as this software-emulated KVM host allows;"
             say "minivmm then exited 121 on the kernel panic, as the NOTE above said. Quickstart done."
             exit 0
         fi
         say "minivmm exited 121: the guest crashed (see the log above)" ;;
    124) say "minivmm exited 124: the --timeout of $timeout s expired" ;;
    130) say "quit with Ctrl-A x" ;;
    *) say "minivmm exited with status $status" ;;
esac
exit "$status"
