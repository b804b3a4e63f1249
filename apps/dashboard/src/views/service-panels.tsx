import type { FunctionComponent } from 'preact';
import type { ServiceStore } from '../lib/service-store';
import { HistoryPanel, InstancesPanel, UptimePanel } from './service-sections';
import { SloPanel } from './slo-panel';

/**
 * The panels of a service page, in order. A feature adds its own (SLOs,
 * breakers, incidents, runbooks) by appending here: each gets the page's
 * store, which keeps the service, its uptime and its history current.
 */
export interface ServicePanel {
  id: string;
  title: string;
  Component: FunctionComponent<{ store: ServiceStore }>;
}

export const servicePanels: ServicePanel[] = [
  { id: 'instances', title: 'Instances', Component: InstancesPanel },
  { id: 'slos', title: 'SLOs', Component: SloPanel },
  { id: 'uptime', title: 'Uptime, last 90 days', Component: UptimePanel },
  { id: 'history', title: 'State changes', Component: HistoryPanel },
];
