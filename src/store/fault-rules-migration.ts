import type { Migration } from './migrations.js';

/**
 * Fault rules (see src/domain/fault-rules.ts), shared by every API and data-plane process of
 * a store. `remaining` is decremented in place when a counted rule fires, so two API nodes
 * never fire the same "next N" rule more than N times between them.
 */
export const faultRulesMigration: Migration = {
  name: '0004_fault_rules',
  async up(tx) {
    await tx.schema
      .createTable('fault_rules')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('remaining', 'integer')
      .addColumn('fired', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};
