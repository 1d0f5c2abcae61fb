/**
 * Text preprocessing of the reference (spec E.4, D.11): captions lose trailing whitespace and dots and
 * get one "."; an image's duplicate captions are removed (first occurrence kept, so the order is
 * deterministic where the reference's `set` is not). VQA questions and NLVR2 statements are left alone.
 */
import type { TextKind } from './types.js';

export function preprocessCaption(caption: string): string {
  return `${caption.replace(/[\s.]+$/u, '')}.`;
}

export function dedupeCaptions(captions: readonly string[]): string[] {
  return [...new Set(captions)];
}

export function preprocessText(text: string, kind: TextKind): string {
  return kind === 'caption' ? preprocessCaption(text) : text;
}
