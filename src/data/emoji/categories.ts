/** The emoji categories the default set draws its concepts from (plain data: the CLI's --help reads it without loading sharp). */
export const DEFAULT_EMOJI_CATEGORIES = ['Animals & Nature', 'Food & Drink'] as const;
