/** The knowledge API's data (handlers/knowledge.ts), apart from its handlers so types.ts and context.ts need no handler. */
export interface KnowledgeDocument {
  id: string;
  name: string;
  text: string;
  position: number;
  createdFrom: 'api';
  dataSourceType: 'upload_file' | 'text';
  createdAt: number; // ms
  batch: string;
}

export interface KnowledgeBase {
  id: string;
  name: string;
  description: string;
  createdAt: number; // ms
  updatedAt: number; // ms
  documents: Map<string, KnowledgeDocument>;
  seq: number;
}

/** Seed for `startDifySimulator({ datasets })`. */
export interface SimulatorDataset {
  id?: string;
  name: string;
  description?: string;
  documents?: { name: string; text: string }[];
}
