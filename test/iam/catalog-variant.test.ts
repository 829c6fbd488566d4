/**
 * The same matrix over a different catalog and stack configuration: a consumer that publishes
 * under a source of its own, a custom bus name, explicit deployment and rule-manager roles and no
 * trail of the stack's own. The rows follow the catalog, so the new consumer gets its rows
 * without any change to the matrix.
 */
import * as path from 'path';
import { z } from 'zod';
import { defineCatalog, defineConsumer, defineEvent, on } from '../../sdk/catalog';
import { ApplicantNotified, intakePublisher, LoanApplicationRejected, loanCatalog, underwriting } from '../../catalog/loans';
import { buildMatrix } from './support/matrix';
import { loadTopology } from './support/stack';
import { registerMatrix } from './support/suite';

const CaseOpened = defineEvent({
  source: 'com.example.loans.audit',
  detailType: 'AuditCaseOpened',
  version: '1',
  description: 'An auditor opened a case on a rejected and notified application.',
  data: z.object({ caseId: z.string() }),
});

const caseAuditor = defineConsumer({
  name: 'case-auditor',
  description: 'Opens audit cases on rejections.',
  subscriptions: [on(LoanApplicationRejected), on(ApplicantNotified)],
  publishes: [CaseOpened],
  stateTable: true,
});

const catalog = defineCatalog({
  events: [...loanCatalog.events, CaseOpened],
  publishers: [intakePublisher],
  consumers: [underwriting, caseAuditor],
});

const deployer = 'arn:aws:iam::111111111111:role/deployer';
const operator = 'arn:aws:iam::111111111111:role/operator';
const topology = loadTopology(
  {
    catalog,
    handlersDir: path.join(__dirname, 'fixtures', 'handlers'),
    eventBusName: 'variant-bus',
    deploymentRoleArns: [deployer],
    ruleManagerArns: [operator],
    existingTrail: true,
    consumerDeploymentRoles: true,
  },
  // Cached while this file (catalog and props), the handlers and the app's sources are unchanged.
  { name: 'iam-catalog-variant-topology', inputs: ['test/iam/catalog-variant.test.ts', 'test/iam/fixtures'] },
);
const cases = buildMatrix(topology);

describe('the matrix of the variant', () => {
  test('has rows for the new consumer and its event type', () => {
    const names = cases.map((c) => c.name);
    expect(names).toContain('case-auditor may publish AuditCaseOpened with its catalog source');
    expect(names).toContain("underwriting's role may not receive from case-auditor's queue");
    expect(names).toContain(
      "case-auditor's role may not write underwriting's table " + topology.consumers.underwriting!.tables[0].split('/').pop(),
    );
  });

  test('uses the given deployment and rule-manager roles, and the custom bus', () => {
    expect(topology.busArn).toBe('arn:aws:events:us-east-1:111111111111:event-bus/variant-bus');
    expect(topology.deploymentRoleArns).toEqual([deployer]);
    expect(cases.filter((c) => c.request.principal === operator && c.expect === 'Allowed')).toHaveLength(6);
    expect(topology.trail).toBeUndefined();
  });

  test("has rows for the consumer teams' deployment roles", () => {
    const names = cases.map((c) => c.name);
    expect(names).toContain("underwriting's deployment role may call events:PutRule on underwriting's rule");
    expect(names).toContain("underwriting's deployment role may not call events:PutRule on case-auditor's rule");
  });
});

registerMatrix(topology, cases);
