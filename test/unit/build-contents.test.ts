// What ships holds no test-bed code: the build compiles src/ only (tools/ and test/ stay out of dist/), and the
// Docker build copies neither tools/ nor test/. A cheap text check of tsconfig.build.json and the Dockerfile.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '../..');
const read = (file: string): string => readFileSync(path.join(repoRoot, file), 'utf8');

interface TsConfig {
  include?: string[];
  files?: string[];
  compilerOptions?: { rootDir?: string; outDir?: string };
}

/** A Dockerfile COPY instruction: its stage (by index), whether it copies from another stage, its sources. */
interface CopyInstruction {
  stage: number;
  fromStage: boolean;
  sources: string[];
}

function copyInstructions(dockerfile: string): CopyInstruction[] {
  const copies: CopyInstruction[] = [];
  let stage = -1;
  // Join continued lines first, so an instruction is one line.
  for (const line of dockerfile.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    const words = line.trim().split(/\s+/);
    const instruction = words[0]?.toUpperCase();
    if (instruction === 'FROM') stage++;
    if (instruction !== 'COPY' && instruction !== 'ADD') continue;
    const flags = words.slice(1).filter((word) => word.startsWith('--'));
    const paths = words.slice(1).filter((word) => !word.startsWith('--'));
    copies.push({
      stage,
      fromStage: flags.some((flag) => flag.startsWith('--from=')),
      sources: paths.slice(0, -1).map((source) => source.replace(/^\.\//, '').replace(/\/$/, '')),
    });
  }
  return copies;
}

describe('build contents', () => {
  it('tsconfig.build.json compiles src/ only, into dist/', () => {
    const build = JSON.parse(read('tsconfig.build.json')) as TsConfig;
    expect(build.include).toEqual(['src']);
    expect(build.files).toBeUndefined();
    expect(build.compilerOptions?.rootDir).toBe('src');
    expect(build.compilerOptions?.outDir).toBe('dist');
  });

  const copies = copyInstructions(read('Dockerfile'));
  const fromContext = copies.filter((copy) => !copy.fromStage);

  it('the Dockerfile copies no tools/ or test/ (nor the whole context)', () => {
    expect(fromContext.length).toBeGreaterThan(0);
    const offending = fromContext
      .flatMap((copy) => copy.sources)
      .filter((source) => source === '.' || source === '*' || /^(tools|test)(\/|$)/.test(source));
    expect(offending).toEqual([]);
  });

  it("the Dockerfile's build stage copies only the package files, the tsconfigs and src/", () => {
    const buildStage = fromContext.filter((copy) => copy.stage === 0).flatMap((copy) => copy.sources);
    expect(buildStage).toContain('src');
    const allowed = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src'];
    expect(buildStage.filter((source) => !allowed.includes(source))).toEqual([]);
  });
});
