/** `glm info`: what was built and what this machine offers it. */
import { buildInfo, devices, memory, numThreads } from '../device';

export function infoCommand(opts: { json?: boolean }): void {
  const info = buildInfo();
  const list = devices();
  const mem = Object.fromEntries(list.map((d) => [d.name, memory(d.name)]));
  if (opts.json) {
    console.log(JSON.stringify({ build: info, devices: list, threads: numThreads(), memory: mem }, null, 2));
    return;
  }
  console.log(`cpu kernels:  ${info.cpuLevel} (${info.cpuFeatures}), ${numThreads()} threads (GLM_NUM_THREADS)`);
  console.log(
    `cuda:         ${info.cuda ? `compiled for sm_${info.cudaArchitectures}` : 'not compiled'}; ` +
      (info.cudaDevices > 0 ? `${info.cudaDevices} device(s)` : `no device (${info.cudaUnavailableReason})`),
  );
  for (const d of list) {
    const extra = d.type === 'cuda' ? `, ${(d.totalMemory! / 2 ** 30).toFixed(1)} GiB, sm ${d.computeCapability}` : '';
    console.log(`device:       ${d.name.padEnd(7)} ${d.description}${extra}`);
  }
}
