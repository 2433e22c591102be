/**
 * doctor's FreePBX checks on dialplans written the way FreePBX generates them (rows as AMI ShowDialPlan
 * gives them). The test bed's FreePBX-shaped dialplan is checked for real in test/integration/doctor.test.ts.
 */
import { freepbxChecks, type DialplanRow, type ReadContext } from '../../src/cli/doctor/freepbx-checks';

/** "exten,prio,App(data)" lines and "include => ctx" lines per context */
function dialplan(contexts: Record<string, string[]>): ReadContext {
  return async (name) =>
    contexts[name]?.map((line): DialplanRow => {
      const include = /^include => (.+)$/.exec(line);
      if (include) return { includecontext: include[1] };
      const m = /^([^,]+),(\d+),(\w+)\((.*)\)$/.exec(line);
      if (!m) throw new Error(`bad test line ${line}`);
      return { extension: m[1], priority: m[2], application: m[3], appdata: m[4] };
    });
}

const route = (did: string, dest: string): string[] => [
  `${did},1,Set(__DIRECTION=INBOUND)`,
  `${did},2,Gosub(app-blacklist-check,s,1())`,
  `${did},3,Set(__FROM_DID=\${EXTEN})`,
  `${did},4,Goto(${dest})`,
];

const FREEPBX = {
  'from-internal': ['include => from-internal-custom'],
  'ext-did': ['include => ext-did-0001', 'include => ext-did-0002', 'foo,1,Noop(bar)'],
  'ext-did-0001': ['foo,1,Noop(bar)'],
  'ext-did-0002': [
    'fax,1,Goto(${CUT(FAX_DEST,^,1)},${CUT(FAX_DEST,^,2)},${CUT(FAX_DEST,^,3)})',
    ...route('2125550180', 'customdests,dest-1,1'),
    ...route('2125550181', 'ext-queues,400,1'),
  ],
  customdests: [
    'dest-1,1,Noop(Entering Custom Destination callscreen)',
    'dest-1,2,Goto(callscreen-inbound,${FROM_DID},1)',
  ],
};

const summary = (checks: Awaited<ReturnType<typeof freepbxChecks>>) =>
  checks.map((c) => `${c.status} ${c.name}: ${c.detail}`);

test('FreePBX set up as docs/install.md says: the Custom Destination and the route that uses it pass', async () => {
  expect(summary(await freepbxChecks(dialplan(FREEPBX)))).toEqual([
    'ok custom destination: goes to callscreen-inbound: dest-1 (callscreen-inbound,${FROM_DID},1)',
    'ok inbound routes: 2125550180 goes to callscreen (1 of 2 inbound routes)',
  ]);
});

test('not FreePBX: no checks, also for a plain Asterisk with a from-internal context of its own', async () => {
  expect(await freepbxChecks(dialplan({ 'from-internal': ['100,1,Dial(PJSIP/100)'] }))).toEqual([]);
  expect(await freepbxChecks(dialplan({}))).toEqual([]);
});

test('no Custom Destination to callscreen-inbound (step 3 not done): fails with the fix', async () => {
  const withoutCustomdests: Record<string, string[]> = { ...FREEPBX };
  delete withoutCustomdests.customdests;
  const checks = await freepbxChecks(dialplan(withoutCustomdests));
  expect(checks).toEqual([
    expect.objectContaining({
      status: 'fail',
      name: 'custom destination',
      fix: expect.stringMatching(/\$\{FROM_DID\}/),
    }),
  ]);
});

test('no inbound route goes to the Custom Destination (step 4 not done): fails, callscreen would screen nothing', async () => {
  const checks = await freepbxChecks(
    dialplan({ ...FREEPBX, 'ext-did-0002': [...route('2125550180', 'ext-queues,400,1')] }),
  );
  expect(checks[1]).toMatchObject({
    status: 'fail',
    name: 'inbound routes',
    detail: expect.stringMatching(/no inbound route goes to the Custom Destination dest-1 \(1 routes\)/),
    fix: expect.stringMatching(/Inbound Routes/),
  });
});

test('a route with a caller ID (ext-did-0001) counts; so does a second Custom Destination to callscreen', async () => {
  const checks = await freepbxChecks(
    dialplan({
      ...FREEPBX,
      'ext-did-0001': ['foo,1,Noop(bar)', ...route('2125550199/3125550100', 'customdests,dest-2,1')],
      'ext-did-0002': [...route('2125550181', 'ext-queues,400,1')],
      customdests: [...FREEPBX.customdests, 'dest-2,1,Goto(callscreen-inbound,${FROM_DID},1)'],
    }),
  );
  expect(summary(checks)[1]).toBe(
    'ok inbound routes: 2125550199/3125550100 goes to callscreen (1 of 2 inbound routes)',
  );
});

test('a Custom Destination that does not hand over the number dialled: "s" or ${EXTEN} fail, a fixed DID warns', async () => {
  const withTarget = (target: string) =>
    freepbxChecks(dialplan({ ...FREEPBX, customdests: [`dest-1,1,Goto(${target})`] }));
  for (const target of ['callscreen-inbound,s,1', 'callscreen-inbound,${EXTEN},1']) {
    const [check] = await withTarget(target);
    expect(check).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining(`dest-1 targets ${target}`),
      fix: expect.stringContaining('callscreen-inbound,${FROM_DID},1'),
    });
  }
  const [fixed] = await withTarget('callscreen-inbound,+12125550180,1');
  expect(fixed).toMatchObject({
    status: 'warn',
    detail: expect.stringMatching(/dest-1 hands callscreen the DID \+12125550180/),
  });
});
