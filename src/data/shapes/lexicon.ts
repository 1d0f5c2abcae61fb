/**
 * Words of the shapes-world grammar. The first entry of every list is the canonical word; the
 * others are synonyms that the generator samples and the parser accepts.
 */
import type { Colour, Location, Relation, Shape, Size } from './scene.js';

export interface NounForms {
  sg: readonly string[];
  pl: readonly string[];
}

export const SHAPE_WORDS: Readonly<Record<Shape, NounForms>> = {
  circle: { sg: ['circle', 'disc', 'disk'], pl: ['circles', 'discs', 'disks'] },
  square: { sg: ['square'], pl: ['squares'] },
  triangle: { sg: ['triangle'], pl: ['triangles'] },
  star: { sg: ['star'], pl: ['stars'] },
  cross: { sg: ['cross', 'plus sign'], pl: ['crosses', 'plus signs'] },
  diamond: { sg: ['diamond', 'rhombus'], pl: ['diamonds', 'rhombuses'] },
};

/** Nouns that name any object ("three shapes", "a red object"). */
export const GENERIC_NOUNS: NounForms = {
  sg: ['shape', 'object', 'thing', 'item', 'figure'],
  pl: ['shapes', 'objects', 'things', 'items', 'figures'],
};

export const COLOUR_WORDS: Readonly<Record<Colour, readonly string[]>> = {
  red: ['red'],
  orange: ['orange'],
  yellow: ['yellow'],
  green: ['green'],
  cyan: ['cyan', 'turquoise'],
  blue: ['blue'],
  purple: ['purple', 'violet'],
};

export const SIZE_WORDS: Readonly<Record<Size, readonly string[]>> = {
  small: ['small', 'little', 'tiny'],
  large: ['large', 'big', 'huge'],
};

export const NUMBER_WORDS: readonly string[] = [
  'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten',
];

export const RELATION_WORDS: Readonly<Record<Relation, readonly string[]>> = {
  left: ['to the left of', 'left of', 'on the left of'],
  right: ['to the right of', 'right of', 'on the right of'],
  above: ['above', 'over', 'higher than'],
  below: ['below', 'under', 'beneath', 'lower than'],
  bigger: ['bigger than', 'larger than'],
  smaller: ['smaller than', 'tinier than'],
};

export const LOCATION_WORDS: Readonly<Record<Location, readonly string[]>> = {
  left: ['on the left', 'at the left', 'on the left side'],
  right: ['on the right', 'at the right', 'on the right side'],
  top: ['at the top', 'near the top'],
  bottom: ['at the bottom', 'near the bottom'],
  'top left': ['in the top left corner', 'in the top left', 'in the upper left'],
  'top right': ['in the top right corner', 'in the top right', 'in the upper right'],
  'bottom left': ['in the bottom left corner', 'in the bottom left', 'in the lower left'],
  'bottom right': ['in the bottom right corner', 'in the bottom right', 'in the lower right'],
  centre: ['in the centre', 'in the center', 'in the middle'],
};

/** Leading phrases of a caption. */
export const CAPTION_PREFIXES: readonly string[] = [
  'there is', 'there are', 'we see', 'we can see', 'the image shows', 'the picture shows',
  'this image shows', 'this picture shows', 'an image of', 'a picture of', 'a scene with',
  'an image with', 'a picture with', 'the image contains', 'this image contains',
  'there is also', 'there are also', 'we also see',
];

export const COPULAS: readonly string[] = [
  'is', 'are', 'sits', 'sit', 'lies', 'lie', 'is located', 'are located', 'is placed', 'are placed',
];

/** Words that join chunks of a caption. */
export const CONNECTORS: readonly string[] = [
  ', and', ', as well as', ',', 'and', 'as well as', 'along with', ';', ':', ', namely', ', while', 'while',
];

export const IMAGE_SUBJECTS = {
  left: ['the left image', 'the image on the left', 'the left picture'],
  right: ['the right image', 'the image on the right', 'the right picture'],
  both: ['both images', 'each image', 'both pictures', 'each of the images'],
  exactlyOne: ['exactly one image', 'only one image', 'exactly one of the images', 'only one of the images'],
  atLeastOne: ['at least one image', 'at least one of the images'],
  neither: ['neither image', 'neither of the images', 'no image'],
} as const;

export type ImageQuant = keyof typeof IMAGE_SUBJECTS;

/** The image quantifiers, in IMAGE_SUBJECTS' order. */
export const IMAGE_QUANTS = Object.keys(IMAGE_SUBJECTS) as readonly ImageQuant[];

export const CONTAIN_VERBS: readonly string[] = [
  'contains', 'contain', 'has', 'have', 'shows', 'show', 'includes', 'include', 'features', 'feature',
];

/** "a"/"an" before a word. */
export function article(nextWord: string): string {
  return /^[aeiou]/.test(nextWord) ? 'an' : 'a';
}
