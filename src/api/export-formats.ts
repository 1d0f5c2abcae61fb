// Output formats of `flm export` (pure data: the CLI reads it for --help without loading the engine).
export const EXPORT_FORMATS = ['safetensors'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
