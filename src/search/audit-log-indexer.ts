import { AUDIT_LOG_STORED_TERMS, AUDIT_LOG_TYPE } from './audit-log-search';
import type { Indexer } from './index-entry';
import { createIndexer } from './indexer';
import { defaultParamSource, type SearchParamSource } from './param-source';

/** What the access log keeps of an event: its term parameters and `date` (the `recorded` columns). */
const KEPT = new Set([...AUDIT_LOG_STORED_TERMS, 'date']);

/**
 * AuditEvent's parameters narrowed to what the log keeps. The R4 definitions
 * give AuditEvent two dozen parameters, most of them (address, site,
 * entity-type, entity-role, policy...) never stored by the log (audit-log.ts
 * drops their entries), yet evaluating them was most of the indexing cost of
 * an event. Other types keep every parameter, so a stray resource is indexed
 * as by the standard indexer.
 */
const auditLogParams: SearchParamSource = {
  ...defaultParamSource,
  searchParameters: (type) => {
    const all = defaultParamSource.searchParameters(type);
    return type === AUDIT_LOG_TYPE ? all.filter((param) => KEPT.has(param.code)) : all;
  },
};

/**
 * The indexer of the access log's own writer (the append thread): the same
 * entries as the standard indexer (createIndexer with the default
 * parameters) for every parameter the log stores, nothing for the others.
 */
export const auditLogIndexer = (baseUrl: string): Indexer => createIndexer({ baseUrl, params: auditLogParams });
