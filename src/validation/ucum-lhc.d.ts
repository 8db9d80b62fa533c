/** The part of @lhncbc/ucum-lhc (which ships no types) that ucum.ts uses. */
declare module '@lhncbc/ucum-lhc' {
  export const UcumLhcUtils: {
    getInstance(): { validateUnitString(unit: string, suggest?: boolean): { status: 'valid' | 'invalid' | 'error' } };
  };
}
